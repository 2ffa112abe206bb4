package server_test

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/httpapi"
	"github.com/parcours/parcours/internal/server"
)

// noRateLimit lets a test make as many requests as it likes per key.
func noRateLimit(o *server.Options) { o.Access.KeyRate = -1 }

// roleKeys stores one API key per role (store roles on store lyon-01)
// and returns their secrets.
func (h *harness) roleKeys() map[auth.Role]string {
	h.t.Helper()
	keys := map[auth.Role]string{}
	for _, role := range auth.Roles {
		var stores []string
		if role.Scoped() {
			stores = []string{"lyon-01"}
		}
		k, secret, err := auth.NewAPIKey("test "+string(role), role, stores, now.Add(24*time.Hour), "test", now)
		if err != nil {
			h.t.Fatal(err)
		}
		if err := h.st.CreateAPIKey(context.Background(), k); err != nil {
			h.t.Fatal(err)
		}
		keys[role] = secret
	}
	return keys
}

// TestEveryManagementRouteHasAPermission: the permission table names
// every route of the management API (a route missing from it asks for a
// permission only owner and admin hold, and fails here).
func TestEveryManagementRouteHasAPermission(t *testing.T) {
	h := newHarness(t)
	for _, r := range h.srv.Routes() {
		if r.Auth == httpapi.AuthAdmin && !httpapi.Listed(r) {
			t.Errorf("%s: not in httpapi's routePermissions: give it the permission it asks for", r.Key())
		}
		if r.Auth != httpapi.AuthAdmin && httpapi.Permission(r) != "" {
			t.Errorf("%s: a permission on a route outside the management API", r.Key())
		}
	}
}

// TestPermissionsRouteByRoute walks the route table and requests every
// management route with a key of every role, on both engines: a role
// that lacks the route's permission gets 403 naming it, a role that has
// it gets past the check (whatever the handler then answers).
func TestPermissionsRouteByRoute(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		keys := h.roleKeys()
		wildcard := regexp.MustCompile(`\{[a-z_]+(\.\.\.)?\}`)
		checked := 0
		for _, role := range auth.Roles {
			for _, r := range h.srv.Routes() {
				if r.Auth != httpapi.AuthAdmin {
					continue
				}
				perm := httpapi.Permission(r)
				method, path := r.Method, wildcard.ReplaceAllString(r.Pattern, "no-such-id")
				if r.AnyMethod {
					method, path = "GET", "/api/v1/no-such-endpoint"
				}
				body := []byte(nil)
				if method != "GET" {
					body = []byte(`{}`)
				}
				code, _, out := h.do(method, path, body, map[string]string{"Authorization": "Bearer " + keys[role], "Content-Type": "application/json"})
				checked++
				e, _ := out["error"].(map[string]any)
				details, _ := e["details"].(map[string]any)
				if !role.Can(perm) {
					msg, _ := e["message"].(string)
					if code != 403 || details["permission"] != string(perm) || !strings.Contains(msg, "missing permission "+string(perm)) {
						t.Errorf("%s as %s: %d %v; want 403 naming %s", r.Key(), role, code, out, perm)
					}
					continue
				}
				if code == 403 && e["code"] == "forbidden" && details["permission"] != nil {
					t.Errorf("%s as %s: 403 %v; the role grants %s", r.Key(), role, out, perm)
				}
				if code == 401 || code == 429 {
					t.Errorf("%s as %s: %d %v", r.Key(), role, code, out)
				}
			}
		}
		t.Logf("%d requests, %d roles", checked, len(auth.Roles))
	}, noRateLimit)
}

const (
	securityFile   = "../../docs/security.md"
	securityBegin  = "<!-- permissions: generated from auth.RolePermissions and httpapi's table by `go test ./internal/server -run TestPermissionTableDocumented -update` -->\n"
	securityFinish = "<!-- /permissions -->\n"
)

// permissionDocs renders what docs/security.md shows: which role grants
// which permission, and which permission each route asks for.
func permissionDocs(routes []httpapi.Route) string {
	var b strings.Builder
	b.WriteString("| permission |")
	for _, r := range auth.Roles {
		b.WriteString(" " + string(r) + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(auth.Roles)) + "\n")
	for _, p := range auth.AllPermissions {
		b.WriteString("| `" + string(p) + "` |")
		for _, r := range auth.Roles {
			if r.Can(p) {
				b.WriteString(" yes |")
			} else {
				b.WriteString(" |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| route | permission |\n|---|---|\n")
	for _, r := range routes {
		if r.Auth != httpapi.AuthAdmin {
			continue
		}
		b.WriteString("| `" + r.Key() + "` | `" + string(httpapi.Permission(r)) + "` |\n")
	}
	return b.String()
}

// TestPermissionTableDocumented fails when docs/security.md does not show
// the permission table as it is in code.
func TestPermissionTableDocumented(t *testing.T) {
	h := newHarness(t)
	raw, err := os.ReadFile(securityFile)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, securityBegin), strings.Index(doc, securityFinish)
	if i < 0 || j < i {
		t.Fatalf("docs/security.md has no generated permission table (%q ... %q)", securityBegin, securityFinish)
	}
	want := permissionDocs(h.srv.Routes())
	if got := doc[i+len(securityBegin) : j]; got != want {
		if *updateDocs {
			if err := os.WriteFile(securityFile, []byte(doc[:i+len(securityBegin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("docs/security.md's permission table differs from the code; run go test ./internal/server -run TestPermissionTableDocumented -update")
	}
}
