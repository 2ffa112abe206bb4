package auth

import (
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// NewTOTP returns a new TOTP secret for the user's authenticator app and
// its otpauth:// URL (what the QR code holds).
func NewTOTP(email string) (secret, url string, err error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: "Parcours", AccountName: email})
	if err != nil {
		return "", "", fmt.Errorf("auth: totp secret: %w", err)
	}
	return k.Secret(), k.URL(), nil
}

// CheckTOTP reports whether code is the secret's code at now, or the one
// just before or after (30 s of clock skew).
func CheckTOTP(secret, code string, now time.Time) bool {
	ok, err := totp.ValidateCustom(code, secret, now, totp.ValidateOpts{
		Period: 30, Skew: 1, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	return err == nil && ok
}

// TOTPCode returns the secret's code at t (tests, and the CLI's check).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCode(secret, t)
}
