package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestAccessRoutes requests every route of people, keys, sessions and the
// audit log once, in the order an admin and a user would, on the observed
// harness (every route of the table is requested by a test; the
// behaviour is proven on both engines by TestSessions, TestScopedKeys and
// TestAuditLog).
func TestAccessRoutes(t *testing.T) {
	h := newHarness(t, noRateLimit)
	steps := []struct {
		method, path, body string
		session            bool
		want               int
	}{
		{"POST", "/api/v1/users", `{"email":"sam@example.fr","role":"agent","password":"correct horse battery"}`, false, 201},
		{"GET", "/api/v1/users", "", false, 200},
		{"GET", "/api/v1/users/sam@example.fr", "", false, 200},
		{"PUT", "/api/v1/users/sam@example.fr/role", `{"role":"marketer"}`, false, 200},
		{"POST", "/api/v1/users/sam@example.fr/disable", "", false, 200},
		{"POST", "/api/v1/users/sam@example.fr/enable", "", false, 200},
		{"POST", "/api/v1/login", `{"email":"sam@example.fr","password":"correct horse battery"}`, false, 200},
		{"GET", "/api/v1/me", "", true, 200},
		{"POST", "/api/v1/me/totp", "", true, 200},
		{"POST", "/api/v1/logout", "", true, 200},
		{"POST", "/api/v1/login", `{"email":"sam@example.fr","password":"correct horse battery"}`, false, 200},
		{"POST", "/api/v1/logout/everywhere", "", true, 200},
		{"POST", "/api/v1/keys", `{"name":"CRM","role":"agent"}`, false, 201},
		{"GET", "/api/v1/keys", "", false, 200},
		{"GET", "/api/v1/keys/key_admin", "", false, 200},
		{"POST", "/api/v1/keys/{new}/rotate", "", false, 200},
		{"POST", "/api/v1/keys/{new}/revoke", "", false, 200},
		{"GET", "/api/v1/audit", "", false, 200},
	}
	var cookie, csrf, newKey string
	for _, s := range steps {
		header := bearer(h.admin)
		if s.session {
			header = map[string]string{"Cookie": "parcours_session=" + cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json"}
		}
		path := s.path
		if newKey != "" {
			path = replaceNew(path, newKey)
		}
		code, hdr, out := h.do(s.method, path, []byte(s.body), header)
		if code != s.want {
			t.Fatalf("%s %s: %d %v, want %d", s.method, path, code, out, s.want)
		}
		switch {
		case path == "/api/v1/login":
			csrf, _ = out["csrf_token"].(string)
			for _, c := range parseCookies(hdr) {
				if c[0] == "parcours_session" {
					cookie = c[1]
				}
			}
		case s.method == "POST" && path == "/api/v1/keys":
			newKey, _ = out["id"].(string)
		}
	}
}

func replaceNew(path, id string) string { return strings.Replace(path, "{new}", id, 1) }

// parseCookies returns the name and value of each cookie a response sets.
func parseCookies(h http.Header) [][2]string {
	var out [][2]string
	for _, c := range (&http.Response{Header: h}).Cookies() {
		out = append(out, [2]string{c.Name, c.Value})
	}
	return out
}
