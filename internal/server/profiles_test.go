package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/unify"
)

// waitConsumer waits until a consumer has handled the whole log.
func (h *harness) waitConsumer(name string) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		last, _ := h.st.LastSeq(context.Background())
		cp, _ := h.st.Checkpoint(context.Background(), name)
		if cp >= last && last > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("consumer %s did not catch up with the log", name)
}

// waitUnify waits until the unify stage has applied the whole log.
func (h *harness) waitUnify() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		last, _ := h.st.LastSeq(context.Background())
		cp, _ := h.st.Checkpoint(context.Background(), unify.Consumer)
		if cp >= last && last > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatal("unify did not catch up with the log")
}

func TestProfilesAPI(t *testing.T) {
	h := newHarness(t)
	body := `{"batch":[
		{"type":"page","anonymousId":"a1","name":"Shoes","timestamp":"2026-11-20T10:00:00Z"},
		{"type":"track","anonymousId":"a1","event":"Product Added","properties":{"sku":"SHOE-42","price":89.9},"timestamp":"2026-11-20T10:01:00Z"},
		{"type":"identify","anonymousId":"a1","userId":"sophie","traits":{"email":"Sophie@Example.fr","phone":"06 12 34 56 78","firstName":"Sophie","emailOptIn":true},"timestamp":"2026-11-20T10:02:00Z"},
		{"type":"track","anonymousId":"tablet","event":"Product Viewed","timestamp":"2026-11-20T11:00:00Z"},
		{"type":"identify","anonymousId":"tablet","userId":"sophie","timestamp":"2026-11-20T11:01:00Z"}
	]}`
	if code, resp := h.ingest("/v1/batch", body); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	h.waitUnify()                    // and the internal events it emitted
	h.waitConsumer(message.Consumer) // consent from traits

	for _, q := range []string{"email=sophie@example.fr", "email=%20SOPHIE@example.fr", "phone=%2B33612345678", "phone=0612345678",
		"user_id=sophie", "anonymous_id=tablet", "identifier=anonymous_id:a1"} {
		code, p := h.api("/api/v1/profiles?" + q)
		if code != 200 || p["traits"].(map[string]any)["firstName"].(map[string]any)["value"] != "Sophie" {
			t.Fatalf("find by %s: %d %v", q, code, p)
		}
	}
	_, p := h.api("/api/v1/profiles?email=sophie@example.fr")
	id := int64(p["id"].(float64))
	c := p["computed"].(map[string]any)
	if c["last_channel"] != "web" || len(c["current_cart"].([]any)) != 1 || p["consent"].(map[string]any)["email"] != true {
		t.Fatalf("profile %v", p)
	}
	if code, body := h.api("/api/v1/profiles?email=nobody@example.fr"); code != 404 || body["error"] == nil {
		t.Fatalf("unknown email: %d %v", code, body)
	}
	if code, _ := h.api("/api/v1/profiles?email=not-an-email"); code != 400 {
		t.Fatalf("bad email: %d", code)
	}

	// The email opt-in reached the consent ledger, which announced it.
	waitFor(t, "Consent Changed on the timeline", func() bool {
		_, all := h.api(fmt.Sprintf("/api/v1/profiles/%d/timeline?limit=50", id))
		return strings.Contains(toJSON(all), "Consent Changed")
	})
	_, tl := h.api(fmt.Sprintf("/api/v1/profiles/%d/timeline?limit=3", id))
	if len(tl["events"].([]any)) != 3 || tl["next_cursor"] == nil {
		t.Fatalf("timeline page: %v", tl)
	}
	_, rest := h.api(fmt.Sprintf("/api/v1/profiles/%d/timeline?limit=50&cursor=%s", id, tl["next_cursor"]))
	// 5 events, the tablet profile merged in, one traits change, one
	// consent change (and commerce's Cart Updated for the cart the
	// Product Added started, which may or may not be there yet).
	total := 0
	for _, e := range append(tl["events"].([]any), rest["events"].([]any)...) {
		if e.(map[string]any)["event"] != "Cart Updated" {
			total++
		}
	}
	if total != 8 {
		t.Fatalf("timeline holds %d events besides Cart Updated, want 8", total)
	}
	_, only := h.api(fmt.Sprintf("/api/v1/profiles/%d/timeline?type=identify", id))
	if len(only["events"].([]any)) != 2 {
		t.Fatalf("identify filter: %v", only)
	}

	_, merges := h.api(fmt.Sprintf("/api/v1/profiles/%d/merges", id))
	list := merges["merges"].([]any)
	if len(list) != 1 {
		t.Fatalf("merges %v", merges)
	}
	mergeID := int64(list[0].(map[string]any)["id"].(float64))
	code, _, res := h.do("POST", fmt.Sprintf("/api/v1/profiles/%d/unmerge", id), []byte(fmt.Sprintf(`{"merge_id":%d}`, mergeID)),
		map[string]string{"Authorization": "Bearer " + h.admin})
	if code != 200 || len(res["profiles"].([]any)) != 2 {
		t.Fatalf("unmerge: %d %v", code, res)
	}
	_, tablet := h.api("/api/v1/profiles?anonymous_id=tablet")
	if int64(tablet["id"].(float64)) == id {
		t.Fatalf("the tablet is still on Sophie's profile")
	}
	if code, _ := h.api("/api/v1/profiles/999999"); code != 404 {
		t.Fatalf("unknown profile: %d", code)
	}
	if code, _ := h.api("/api/v1/profiles/abc"); code != 400 {
		t.Fatalf("bad id: %d", code)
	}
	_, all := h.api("/api/v1/profiles?limit=10")
	if len(all["profiles"].([]any)) != 2 {
		t.Fatalf("list: %v", all)
	}
}
