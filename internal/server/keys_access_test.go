package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/server"
)

// TestScopedKeys: keys with a role, stores and an expiry, shown once and
// stored hashed; revoked and rotated; the first-start admin key is the
// owner key key_admin and rotates too; write keys only ingest; on both
// engines.
func TestScopedKeys(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		code, _, k := h.do("POST", "/api/v1/keys", []byte(`{"name":"Lyon POS","role":"store_staff","stores":["lyon-01"],"expires_in":"1h"}`), bearer(h.admin))
		secret, _ := k["secret"].(string)
		id, _ := k["id"].(string)
		if code != 201 || !strings.HasPrefix(secret, "pk_live_") || k["role"] != "store_staff" || k["hash"] != nil {
			t.Fatalf("create key: %d %v", code, k)
		}
		// Shown once: the list and the key itself never hold the secret
		// nor its hash.
		for _, path := range []string{"/api/v1/keys", "/api/v1/keys/" + id} {
			_, raw := h.raw("GET", path, "", bearer(h.admin))
			if strings.Contains(raw, secret) || strings.Contains(raw, secret[8:]) || strings.Contains(raw, `"hash"`) {
				t.Errorf("%s shows the secret: %s", path, raw)
			}
		}
		_, list := h.api("/api/v1/keys")
		roles := map[any]any{}
		for _, k := range list["keys"].([]any) {
			roles[k.(map[string]any)["id"]] = k.(map[string]any)["role"]
		}
		if len(roles) != 2 || roles["key_admin"] != "owner" || roles[id] != "store_staff" {
			t.Errorf("keys: %v; want key_admin (owner) and the new one", list)
		}

		if code, _, out := h.do("GET", "/api/v1/tasks", nil, bearer(secret)); code != 200 {
			t.Errorf("store_staff lists tasks: %d %v", code, out)
		}
		if code, _, out := h.do("POST", "/api/v1/keys", []byte(`{"name":"x","role":"store_staff","stores":["lyon-01"]}`), bearer(secret)); code != 403 || !strings.Contains(out["error"].(map[string]any)["message"].(string), "keys:write") {
			t.Errorf("store_staff creates a key: %d %v", code, out)
		}

		// Nobody grants what they lack; only an owner grants owner.
		_, _, adm := h.do("POST", "/api/v1/keys", []byte(`{"name":"ops","role":"admin"}`), bearer(h.admin))
		adminKey, _ := adm["secret"].(string)
		if code, _, out := h.do("POST", "/api/v1/keys", []byte(`{"name":"x","role":"owner"}`), bearer(adminKey)); code != 403 {
			t.Errorf("admin grants owner: %d %v", code, out)
		}
		if code, _, out := h.do("POST", "/api/v1/keys/key_admin/revoke", nil, bearer(adminKey)); code != 403 {
			t.Errorf("admin revokes the owner key: %d %v", code, out)
		}
		for body, want := range map[string]string{
			`{"name":"x","role":"store_staff"}`:               "stores",
			`{"name":"x","role":"marketer","stores":["a"]}`:   "stores",
			`{"name":"x","role":"boss"}`:                      "role",
			`{"role":"marketer"}`:                             "name",
			`{"name":"x","role":"marketer","expires_in":"x"}`: "expires_in",
		} {
			code, _, out := h.do("POST", "/api/v1/keys", []byte(body), bearer(h.admin))
			d, _ := out["error"].(map[string]any)["details"].(map[string]any)
			if code != 400 || d["field"] != want {
				t.Errorf("%s: %d %v; want 400 on %s", body, code, out, want)
			}
		}

		// Rotation: a new secret, the old one refused at once.
		code, _, rot := h.do("POST", "/api/v1/keys/"+id+"/rotate", nil, bearer(h.admin))
		newSecret, _ := rot["secret"].(string)
		if code != 200 || newSecret == "" || newSecret == secret || rot["id"] != id {
			t.Fatalf("rotate: %d %v", code, rot)
		}
		if code, _, out := h.do("GET", "/api/v1/tasks", nil, bearer(secret)); code != 401 {
			t.Errorf("the secret before rotation: %d %v", code, out)
		}
		if code, _, _ := h.do("GET", "/api/v1/tasks", nil, bearer(newSecret)); code != 200 {
			t.Errorf("the rotated secret: %d", code)
		}
		// Expiry.
		h.clock.Advance(time.Hour + time.Second)
		if code, _, out := h.do("GET", "/api/v1/tasks", nil, bearer(newSecret)); code != 401 || errorCode(out) != "key_expired" {
			t.Errorf("an expired key: %d %v", code, out)
		}
		// Revocation.
		if code, _, out := h.do("POST", "/api/v1/keys/"+adm["id"].(string)+"/revoke", nil, bearer(h.admin)); code != 200 || out["revoked_at"] == nil {
			t.Fatalf("revoke: %d %v", code, out)
		}
		if code, _, out := h.do("GET", "/api/v1/me", nil, bearer(adminKey)); code != 401 || errorCode(out) != "key_revoked" {
			t.Errorf("a revoked key: %d %v", code, out)
		}

		// A write key only ingests.
		if code, _, out := h.do("GET", "/api/v1/sources", nil, bearer(h.src.WriteKey)); code != 401 || !strings.Contains(out["error"].(map[string]any)["message"].(string), "write key only ingests") {
			t.Errorf("a write key on the management API: %d %v", code, out)
		}

		// The first-start admin key is the owner key key_admin: it rotates.
		code, _, me := h.do("GET", "/api/v1/me", nil, bearer(h.admin))
		if code != 200 || me["id"] != "key_admin" || me["role"] != "owner" {
			t.Fatalf("me with the admin key: %d %v", code, me)
		}
		code, _, rot = h.do("POST", "/api/v1/keys/key_admin/rotate", nil, bearer(h.admin))
		if code != 200 {
			t.Fatalf("rotate the admin key: %d %v", code, rot)
		}
		if code, _, _ := h.do("GET", "/api/v1/me", nil, bearer(h.admin)); code != 401 {
			t.Errorf("the admin key before rotation: %d", code)
		}
		h.admin = rot["secret"].(string)
		if code, _, _ := h.do("GET", "/api/v1/me", nil, bearer(h.admin)); code != 200 {
			t.Errorf("the rotated admin key: %d", code)
		}
	}, noRateLimit)
}

// TestRateLimitPerKey: a key over its rate gets 429 with Retry-After;
// another key is not slowed by it; owner keys are not limited.
func TestRateLimitPerKey(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		keys := h.roleKeys()
		limited := 0
		for range 10 {
			code, header, out := h.do("GET", "/api/v1/me", nil, bearer(keys["marketer"]))
			if code == 429 {
				limited++
				if header.Get("Retry-After") == "" || errorCode(out) != "rate_limited" {
					t.Errorf("429 %v %v", header, out)
				}
			}
		}
		// Rate 2/s, burst 5: 5 pass, 5 refused (the fake clock stands still).
		if limited != 5 {
			t.Errorf("marketer: %d of 10 refused, want 5", limited)
		}
		if code, _, _ := h.do("GET", "/api/v1/me", nil, bearer(keys["analyst"])); code != 200 {
			t.Errorf("another key: %d", code)
		}
		for range 20 {
			if code, _, _ := h.do("GET", "/api/v1/me", nil, bearer(h.admin)); code != 200 {
				t.Fatalf("the owner key: %d", code)
			}
		}
		h.clock.Advance(time.Second)
		if code, _, _ := h.do("GET", "/api/v1/me", nil, bearer(keys["marketer"])); code != 200 {
			t.Errorf("marketer a second later: %d", code)
		}
	}, func(o *server.Options) { o.Access.KeyRate = 2 })
}
