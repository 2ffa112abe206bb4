// Package push sends mobile push notifications through Firebase Cloud
// Messaging (HTTP v1 API, service-account OAuth 2.0) and the Apple Push
// Notification service (HTTP/2, token-based authentication).
package push

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
)

var b64 = base64.RawURLEncoding

// signJWT builds a compact JWS (RFC 7515) over header and claims with
// RS256 (RSA PKCS#1 v1.5 SHA-256) or ES256 (ECDSA P-256 SHA-256, the
// signature as the 64-byte r||s of RFC 7518 section 3.4), by key type.
func signJWT(header, claims any, key crypto.Signer) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	case *ecdsa.PrivateKey:
		r, s, e := ecdsa.Sign(rand.Reader, k, sum[:])
		if e != nil {
			return "", e
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		sig = make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
	default:
		return "", fmt.Errorf("unsupported key type %T", key)
	}
	if err != nil {
		return "", err
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// parsePrivateKey reads a PEM private key: PKCS#8 (service-account JSON,
// Apple .p8), PKCS#1 RSA or SEC 1 EC. Errors never quote the key.
func parsePrivateKey(pemText string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("no PEM block found in the private key")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("private key type %T cannot sign", k)
		}
		return s, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("private key block %q is not PKCS#8, PKCS#1 or SEC 1", block.Type)
}
