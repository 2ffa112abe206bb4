package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// accessServer runs a real server on a data directory with its admin
// key, for the users, keys and audit commands.
func accessServer(t *testing.T) (dir, url string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := server.EnsureAdminKey(ctx, st, dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	srv := server.New(st, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv.Start()
	h := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { h.Close(); srv.Close(); st.Close() })
	return dir, h.URL
}

// TestUsersKeysAuditCommands: parcours users create/list/set-role/
// disable/enable, keys create/list/rotate/revoke and audit list against a
// running server; rotating key_admin rewrites the admin-key file.
func TestUsersKeysAuditCommands(t *testing.T) {
	dir, url := accessServer(t)
	cli := func(args ...string) (int, string, string) {
		return run(t, append(append([]string{"--data-dir", dir}, args...), "--server", url)...)
	}
	code, out, errOut := cli("users", "create", "Camille@example.fr", "--role", "marketer")
	if code != 0 || !strings.Contains(out, "User camille@example.fr") || !strings.Contains(out, "Password: ") {
		t.Fatalf("users create: %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli("users", "create", "lea@example.fr", "--role", "store_manager", "--stores", "lyon-01,lyon-02", "--password", "a long enough password")
	if code != 0 || !strings.Contains(out, "on lyon-01, lyon-02") || strings.Contains(out, "Password:") {
		t.Fatalf("users create with stores: %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := cli("users", "create", "x@example.fr", "--role", "store_staff"); code == 0 || !strings.Contains(errOut, "stores") {
		t.Errorf("a store role without stores: %d %s", code, errOut)
	}
	if code, out, errOut := cli("users", "set-role", "camille@example.fr", "analyst"); code != 0 || !strings.Contains(out, "role analyst") {
		t.Errorf("users set-role: %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := cli("users", "disable", "camille@example.fr"); code != 0 || !strings.Contains(out, "disabled") {
		t.Errorf("users disable: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = cli("users", "list")
	if code != 0 || !strings.Contains(out, "camille@example.fr") || !strings.Contains(out, "analyst") || !strings.Contains(out, "disabled") ||
		!strings.Contains(out, "lyon-01,lyon-02") {
		t.Errorf("users list: %d\n%s", code, out)
	}
	if code, out, _ := cli("users", "enable", "camille@example.fr"); code != 0 || !strings.Contains(out, "enabled") {
		t.Errorf("users enable: %d\n%s", code, out)
	}

	code, out, errOut = cli("keys", "create", "Lyon POS", "--role", "store_staff", "--stores", "lyon-01", "--expires-in", "720h")
	if code != 0 || !strings.Contains(out, "Secret: pk_live_") || !strings.Contains(out, "expires") {
		t.Fatalf("keys create: %d\n%s%s", code, out, errOut)
	}
	id := strings.Fields(out)[1]
	secret := strings.Fields(out[strings.Index(out, "Secret: "):])[1]
	code, out, _ = cli("keys", "list")
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "key_admin") || strings.Contains(out, secret) {
		t.Errorf("keys list: %d\n%s", code, out)
	}
	if code, out, _ := cli("keys", "revoke", id); code != 0 || !strings.Contains(out, "revoked") {
		t.Errorf("keys revoke: %d\n%s", code, out)
	}
	if code, _, errOut := run(t, "tasks", "list", "--server", url, "--admin-key", secret); code == 0 || !strings.Contains(errOut, "revoked") {
		t.Errorf("a revoked key: %d %s", code, errOut)
	}

	// Rotating the admin key rewrites the file the CLI reads it from.
	old, _ := os.ReadFile(filepath.Join(dir, server.AdminKeyFile))
	code, out, errOut = cli("keys", "rotate", "key_admin")
	if code != 0 || !strings.Contains(out, "New secret saved to") {
		t.Fatalf("keys rotate key_admin: %d\n%s%s", code, out, errOut)
	}
	now, _ := os.ReadFile(filepath.Join(dir, server.AdminKeyFile))
	if string(now) == string(old) || !strings.HasPrefix(string(now), "pk_live_") {
		t.Errorf("admin-key file after rotation: %q (was %q)", now, old)
	}
	if code, _, errOut := run(t, "tasks", "list", "--server", url, "--admin-key", strings.TrimSpace(string(old))); code == 0 {
		t.Errorf("the old admin key still works: %s", errOut)
	}

	code, out, errOut = cli("audit", "list", "--resource", "users")
	if code != 0 || !strings.Contains(out, "POST /api/v1/users") || !strings.Contains(out, "PUT /api/v1/users/{id}/role") ||
		!strings.Contains(out, "key:key_admin") || !strings.Contains(out, "127.0.0.1") {
		t.Errorf("audit list: %d\n%s%s", code, out, errOut)
	}
	code, out, _ = cli("--json", "audit", "list", "--action", "POST /api/v1/keys/{id}/rotate")
	if code != 0 || !strings.Contains(out, `"resource_id": "key_admin"`) {
		t.Errorf("audit list --json --action: %d\n%s", code, out)
	}
	for _, cmd := range [][]string{{"users"}, {"users", "create"}, {"keys"}, {"keys", "create"}, {"audit", "list"}} {
		if code, out, _ := run(t, append(cmd, "--help")...); code != 0 || !strings.Contains(out, "Usage: parcours") {
			t.Errorf("parcours %s --help: exit %d\n%s", strings.Join(cmd, " "), code, out)
		}
	}
}
