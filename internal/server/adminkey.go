package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/httpapi"
	"github.com/parcours/parcours/internal/store"
)

// AdminKeyFile is the name of the file, in the data directory, that holds
// the admin key created on first start.
const AdminKeyFile = "admin-key"

// EnsureAdminKey creates the first admin key if the store has none: its hash
// goes to the store, the key itself to dataDir/admin-key (mode 0600). It
// returns the new key, or "" when one existed already.
func EnsureAdminKey(ctx context.Context, st store.AdminKeys, dataDir string, now time.Time) (string, error) {
	has, err := st.HasAdminKey(ctx)
	if err != nil || has {
		return "", err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("server: admin key: %w", err)
	}
	key := "pk_admin_" + base64.RawURLEncoding.EncodeToString(b[:])
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("server: admin key: %w", err)
	}
	// The file is written first: a key stored but never shown would lock
	// the admin out.
	if err := os.WriteFile(filepath.Join(dataDir, AdminKeyFile), []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("server: write admin key: %w", err)
	}
	if err := st.AddAdminKey(ctx, httpapi.HashKey(key), now); err != nil {
		return "", err
	}
	return key, nil
}

// ReadAdminKey reads the admin key from the data directory.
func ReadAdminKey(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, AdminKeyFile))
	if err != nil {
		return "", fmt.Errorf("read admin key (start `parcours serve` once to create it): %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
