package journey_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
)

func TestWebhookRetriesWithTheSameKey(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		if len(keys) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
	}))
	defer srv.Close()
	w := newWorld(t)
	w.eng = w.engine(journey.Options{Sender: w.rec, Webhooks: journey.HTTPCaller{Client: srv.Client()}})
	w.apply(`
kind: journey
id: crm
name: Tell the CRM
triggers: [{event: Signed Up}]
steps:
  - webhook: {url: "` + srv.URL + `/hooks/parcours"}
  - send: {channel: email, template: welcome}
`)
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
	if body["profile_id"] != float64(w.profile("ana")) || body["journey_id"] != "crm" || body["step"] != "steps[0]" {
		t.Fatalf("body %v", body)
	}
	if got := w.templates("ana"); len(got) != 1 {
		t.Fatalf("sent %v after the webhook succeeded", got)
	}
}
