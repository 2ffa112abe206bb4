package journey

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
)

// defaultCodeSecret keys promo codes when no secret is configured.
var defaultCodeSecret = []byte("parcours journey promo codes")

// codeAlphabet leaves out 0/O and 1/I, which people misread.
var codeAlphabet = base32.NewEncoding("ABCDEFGHJKLMNPQRSTUVWXYZ23456789").WithPadding(base32.NoPadding)

// promoCode is the unique code of one send (by its key): the prefix, a
// dash, and ten characters of an HMAC-SHA256 of the key (50 bits).
func promoCode(secret []byte, prefix, key string) string {
	if len(secret) == 0 {
		secret = defaultCodeSecret
	}
	h := hmac.New(sha256.New, append([]byte("promo:"), secret...))
	h.Write([]byte(key))
	code := codeAlphabet.EncodeToString(h.Sum(nil))[:10]
	if prefix == "" {
		return code
	}
	return prefix + "-" + code
}
