package journey_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message/webhook"
)

const crmJourney = `
kind: journey
id: crm
name: Tell the CRM
triggers: [{event: Signed Up}]
steps:
  - webhook: {url: "URL/hooks/parcours"}
  - send: {channel: email, template: welcome}
`

// TestWebhookRetriesWithTheSameKey: a webhook step's call is signed like
// the webhook provider's (Parcours-Signature, checked by webhook.Verify
// with the shared secret at the engine's time) and retried with the same
// key.
func TestWebhookRetriesWithTheSameKey(t *testing.T) {
	var mu sync.Mutex
	var keys, sigErrs []string
	var body map[string]any
	w := newWorld(t)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		raw, _ := io.ReadAll(r.Body)
		keys = append(keys, r.Header.Get(webhook.IdempotencyHeader))
		if err := webhook.Verify("crm-secret", r.Header.Get(webhook.SignatureHeader), raw, w.clk.Now(), time.Minute); err != nil {
			sigErrs = append(sigErrs, err.Error())
		}
		if len(keys) == 1 {
			http.Error(rw, "busy", http.StatusServiceUnavailable)
			return
		}
		_ = json.Unmarshal(raw, &body)
	}))
	defer srv.Close()
	w.eng = w.engine(journey.Options{Sender: w.rec, Webhooks: journey.HTTPCaller{Client: srv.Client(), Secret: "crm-secret", Clock: w.clk}})
	w.apply(strings.Replace(crmJourney, "URL", srv.URL, 1))
	w.track("ana", "Signed Up", nil)
	w.tick()
	if len(w.rec.Sent()) != 0 {
		t.Fatal("the send ran although the webhook failed")
	}
	w.at(2 * time.Minute) // the retry
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 2 || keys[0] == "" || keys[0] != keys[1] {
		t.Fatalf("keys %q: want two calls with the same key", keys)
	}
	if len(sigErrs) != 0 {
		t.Fatalf("signatures: %v", sigErrs)
	}
	if body["profile_id"] != float64(w.profile("ana")) || body["journey_id"] != "crm" || body["step"] != "steps[0]" {
		t.Fatalf("body %v", body)
	}
	if got := w.templates("ana"); len(got) != 1 {
		t.Fatalf("sent %v after the webhook succeeded", got)
	}
}

// TestWebhookWithoutSecretIsNotCalled: without a signing secret the step
// calls nothing and is skipped at once (no retries), saying why.
func TestWebhookWithoutSecretIsNotCalled(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls++ }))
	defer srv.Close()
	w := newWorld(t)
	var why string
	w.eng = w.engine(journey.Options{Sender: w.rec, Webhooks: journey.HTTPCaller{Client: srv.Client()}, Trace: func(e journey.TraceEntry) {
		if e.Kind == "webhook" {
			why = e.Why
		}
	}})
	w.apply(strings.Replace(crmJourney, "URL", srv.URL, 1))
	w.track("ana", "Signed Up", nil)
	w.tick()
	if calls != 0 || len(w.rec.Sent()) != 1 || !strings.Contains(why, "type: webhook in the providers file") {
		t.Fatalf("calls %d, sent %v, why %q", calls, w.rec.Sent(), why)
	}
}
