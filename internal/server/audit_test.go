package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/store"
)

// auditEntries lists the audit log with a query.
func (h *harness) auditEntries(query string) []map[string]any {
	h.t.Helper()
	code, out := h.api("/api/v1/audit?" + query)
	if code != 200 {
		h.t.Fatalf("audit?%s: %d %v", query, code, out)
	}
	var list []map[string]any
	for _, e := range out["entries"].([]any) {
		list = append(list, e.(map[string]any))
	}
	return list
}

// TestAuditLog: management changes (who, what, when, from where,
// before/after for definitions, secrets redacted), bulk reads of
// personal data and logins are recorded; reads are not; the log is
// filtered and paged; nothing changes it; on both engines.
func TestAuditLog(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		h.createUser("analyst@example.fr", "analyst", "")
		code, _, _ := h.do("PUT", "/api/v1/users/analyst@example.fr/role", []byte(`{"role":"marketer"}`), bearer(h.admin))
		if code != 200 {
			t.Fatalf("set role: %d", code)
		}
		h.do("POST", "/api/v1/segments", []byte(`{"id":"vip","name":"VIP","where":{"trait":"vip","equals":true}}`), bearer(h.admin))
		h.api("/api/v1/segments/vip/members")
		h.api("/api/v1/sources") // a read: not recorded
		h.login("analyst@example.fr", "not the password", "")
		h.do("POST", "/api/v1/users", []byte(`{"email":"bad"}`), bearer(h.admin)) // refused: not recorded

		all := h.auditEntries("")
		var actions []string
		for _, e := range all {
			actions = append(actions, e["action"].(string))
		}
		want := []string{"session.login_failed", "GET /api/v1/segments/{id}/members", "POST /api/v1/segments", "PUT /api/v1/users/{id}/role", "POST /api/v1/users"}
		if strings.Join(actions, ",") != strings.Join(want, ",") {
			t.Fatalf("actions (newest first) %v, want %v", actions, want)
		}
		created, role := all[4], all[3]
		if created["actor"] != "key:key_admin" || created["ip"] != "127.0.0.1" || created["resource"] != "users" || created["resource_id"] == "" || created["at"] == nil {
			t.Errorf("user creation: %v", created)
		}
		after, _ := json.Marshal(created["after"])
		if !strings.Contains(string(after), `"password":"[redacted]"`) || strings.Contains(string(after), "correct horse") {
			t.Errorf("the password reached the audit log: %s", after)
		}
		if role["resource_id"] != "analyst@example.fr" || role["before"].(map[string]any)["role"] != "analyst" || role["after"].(map[string]any)["role"] != "marketer" {
			t.Errorf("role change before/after: %v", role)
		}
		if all[2]["after"].(map[string]any)["id"] != "vip" {
			t.Errorf("segment after: %v", all[2])
		}
		if all[1]["resource_id"] != "vip" || all[0]["actor"] != "anonymous" || all[0]["resource_id"] != "analyst@example.fr" {
			t.Errorf("members read / failed login: %v / %v", all[1], all[0])
		}

		// Filters and paging.
		if got := h.auditEntries("resource=users"); len(got) != 3 {
			t.Errorf("resource=users: %d entries", len(got))
		}
		if got := h.auditEntries("actor=key:key_admin&resource=segments"); len(got) != 2 {
			t.Errorf("actor and resource: %d entries", len(got))
		}
		if got := h.auditEntries("action=" + url.QueryEscape("POST /api/v1/segments")); len(got) != 1 {
			t.Errorf("action: %d entries", len(got))
		}
		if got := h.auditEntries("since=" + url.QueryEscape(now.Add(time.Second).Format(time.RFC3339))); len(got) != 0 {
			t.Errorf("since after now: %d entries", len(got))
		}
		code, page := h.api("/api/v1/audit?limit=2")
		next := page["next_before"].(float64)
		if code != 200 || len(page["entries"].([]any)) != 2 {
			t.Fatalf("page: %d %v", code, page)
		}
		if got := h.auditEntries(fmt.Sprintf("limit=10&before=%d", int64(next))); len(got) != 3 {
			t.Errorf("second page: %d entries", len(got))
		}
		if code, out := h.api("/api/v1/audit?since=yesterday"); code != 400 {
			t.Errorf("since=yesterday: %d %v", code, out)
		}

		// Append-only: no route changes or deletes an entry.
		for _, r := range h.srv.Routes() {
			if strings.HasPrefix(r.Pattern, "/api/v1/audit") && r.Method != "GET" {
				t.Errorf("%s changes the audit log", r.Key())
			}
		}
		// Reading the audit log asks for audit:read.
		keys := h.roleKeys()
		if code, _, out := h.do("GET", "/api/v1/audit", nil, bearer(keys["marketer"])); code != 403 {
			t.Errorf("marketer reads the audit log: %d %v", code, out)
		}
	}, noRateLimit)
}

// TestAuditRetention: the audit log keeps its entries for its own
// retention; expired sessions go too.
func TestAuditRetention(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		ctx := context.Background()
		for _, age := range []time.Duration{400 * 24 * time.Hour, 300 * 24 * time.Hour} {
			if err := h.st.AppendAudit(ctx, &auth.AuditEntry{At: now.Add(-age), Actor: "key:key_admin", Action: "POST /api/v1/segments", Resource: "segments", Status: 200}); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.st.CreateSession(ctx, &auth.Session{ID: "s-old", UserID: "u", CSRF: "c", CreatedAt: now.Add(-13 * time.Hour), ExpiresAt: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		// serve prunes at start and every hour: this prune may find that
		// one has run since the rows were written.
		if _, _, err := h.srv.PruneAccess(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := h.st.Session(ctx, "s-old"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an expired session after pruning: %v", err)
		}
		if got := h.auditEntries(""); len(got) != 1 {
			t.Errorf("%d entries left, want the 300-day-old one", len(got))
		}
	})
}
