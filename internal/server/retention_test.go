package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/privacy"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
)

// TestRetention: a pass removes what its policy says has expired, and
// nothing else: the events of a source with a short period (never the
// last event of the log), a visitor never identified, the contents of an
// old message; an identified customer and other sources' events stay. A
// second pass removes nothing (idempotent); the pass reports its progress
// and counts in /metrics (issue 19.7), on both engines.
func TestRetention(t *testing.T) {
	policy := privacy.Policy{EventsBySource: map[string]time.Duration{"Web shop": 30 * privacy.Day},
		AnonymousProfiles: 90 * privacy.Day, MessageBodies: 60 * privacy.Day, Rejections: 30 * privacy.Day, RequestKeys: 30 * privacy.Day}
	onEngines(t, func(t *testing.T, h *harness, e engine) {
		ctx := context.Background()
		ts := h.clock.Now().Format(time.RFC3339)
		for _, body := range []string{
			`{"type":"page","anonymousId":"visitor-1","name":"Home","timestamp":"` + ts + `"}`,
			`{"type":"identify","userId":"kept-1","traits":{"email":"kept@example.fr","email_opt_in":true},"timestamp":"` + ts + `"}`,
		} {
			if code, resp := h.ingest("/v1/batch", `{"batch":[`+body+`]}`); code != 200 {
				t.Fatalf("%d %v", code, resp)
			}
		}
		kept := h.profileOf("kept-1")
		h.settle()
		if code, resp := h.adminJSON("POST", "/api/v1/messages", `{"identifier":"user_id:kept-1","channel":"email","topic":"offers",
			"content":{"email":{"subject":"Old news","html":"<p>Old news</p>"}},"idempotency_key":"old-1"}`); code != 202 && code != 200 {
			t.Fatalf("message: %d %v", code, resp)
		}
		h.settle()
		// A source created with an idempotency key: its key and answer are
		// remembered for the policy's 30 days, then forgotten.
		createSource := func() (int, map[string]any) {
			code, _, out := h.do("POST", "/api/v1/sources", []byte(`{"name":"Call center","channel":"call_center"}`),
				map[string]string{"Authorization": "Bearer " + h.admin, "Idempotency-Key": "cc-1"})
			return code, out
		}
		if code, out := createSource(); code != 201 {
			t.Fatalf("source: %d %v", code, out)
		}
		h.clock.Advance(100 * privacy.Day)
		// Something recent, from Parcours itself: the last event of the log.
		if code, resp := h.adminJSON("POST", "/api/v1/consent", `{"profile_id":`+jsonNumber(float64(kept))+`,"channel":"sms","granted":true}`); code != 201 {
			t.Fatalf("consent: %d %v", code, resp)
		}
		h.settle()

		var progress []string
		r := *h.srv.Pipeline().Retention
		r.Policy = policy
		r.Progress = func(kind string, n int64) { progress = append(progress, kind) }
		rep, err := r.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep["events"] != 2 || rep["anonymous_profiles"] != 1 || rep["message_bodies"] != 1 || rep["request_keys"] < 1 {
			t.Fatalf("first pass removed %v, want the 2 web events, 1 visitor, 1 message body, the source's request key", rep)
		}
		// The key forgotten, the same request is a new one: a second source
		// of that name is refused as a duplicate, not answered from the key.
		if code, out := createSource(); code == 201 || code == 200 {
			t.Errorf("after retention the old key still answered: %d %v", code, out)
		}
		if len(progress) == 0 {
			t.Error("no progress reported")
		}
		visitor := identity.Identifier{Kind: identity.AnonymousID, Value: "visitor-1"}
		if got, _ := h.st.Holders(ctx, []identity.Identifier{visitor}); got[visitor] != 0 {
			t.Error("the visitor never identified is still there")
		}
		if _, err := h.st.Profile(ctx, kept); err != nil {
			t.Errorf("the identified customer is gone: %v", err)
		}
		list, err := h.st.ListEvents(ctx, store.EventQuery{SourceID: h.src.ID})
		if err != nil || len(list) != 0 {
			t.Errorf("the web shop's events: %d left (%v)", len(list), err)
		}
		if last, _ := h.st.LastSeq(ctx); last == 0 {
			t.Error("the log is empty: retention deleted everything")
		}
		again, err := r.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for kind, n := range again {
			if n != 0 {
				t.Errorf("a second pass removed %d %s: not idempotent", n, kind)
			}
		}
		_, metrics := h.raw("GET", "/metrics", "", nil)
		if !strings.Contains(metrics, `parcours_retention_removed_total{kind="events"} 2`) ||
			!strings.Contains(metrics, "parcours_retention_last_run_timestamp_seconds") {
			t.Errorf("retention metrics missing from /metrics")
		}
	}, func(o *server.Options) { o.Messages.BaseURL = "https://parcours.example.fr" })
}
