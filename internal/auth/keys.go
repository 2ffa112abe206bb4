package auth

import (
	"time"
)

// NewAPIKey makes a key with a new secret: it returns the key to store
// (the secret's hash only) and the secret to show once.
func NewAPIKey(name string, role Role, stores []string, expires time.Time, createdBy string, now time.Time) (*APIKey, string, error) {
	secret, err := NewSecret(KeyPrefix + "live_")
	if err != nil {
		return nil, "", err
	}
	k := &APIKey{ID: NewID("key_"), Name: name, Role: role, Stores: stores, Hash: HashSecret(secret),
		Prefix: secret[:len(KeyPrefix)+9], CreatedBy: createdBy, CreatedAt: now, ExpiresAt: expires}
	return k, secret, nil
}

// RotateAPIKey gives k a new secret, returned to show once; the old one
// opens nothing once k is stored.
func RotateAPIKey(k *APIKey, now time.Time) (string, error) {
	secret, err := NewSecret(KeyPrefix + "live_")
	if err != nil {
		return "", err
	}
	k.Hash, k.Prefix, k.RotatedAt = HashSecret(secret), secret[:len(KeyPrefix)+9], now
	return secret, nil
}
