package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// KeyPrefix starts every API key Parcours makes (the first-start admin
// key is "pk_admin_..."): secret scanners and people recognise it.
const KeyPrefix = "pk_"

// NewSecret returns a random token of 256 bits, URL-safe, after prefix.
func NewSecret(prefix string) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("auth: random secret: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// NewID returns a random id with a prefix ("usr_", "key_").
func NewID(prefix string) string {
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashSecret returns the stored form of a key or session token: its
// SHA-256 in hex. A 256-bit random secret needs no salt nor a slow hash:
// nobody guesses it, and a stolen hash does not give it back.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SameSecret compares two secrets or hashes in constant time.
func SameSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
