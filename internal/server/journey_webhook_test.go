package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/webhook"
)

// TestJourneyWebhookSignedWithTheProviderSecret: a journey's webhook step
// is signed with the secret of the providers file's webhook provider, so
// the receiver verifies it as it verifies the provider's messages.
func TestJourneyWebhookSignedWithTheProviderSecret(t *testing.T) {
	var mu sync.Mutex
	var verified []error
	var h *harness
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		verified = append(verified, webhook.Verify("crm-secret", r.Header.Get(webhook.SignatureHeader), body, h.clock.Now(), time.Minute))
		mu.Unlock()
	}))
	defer srv.Close()
	h = newHarness(t, withProviders(t, `
  - name: crm-hook
    type: webhook
    settings:
      url: `+srv.URL+`/messages
      secret: crm-secret`))
	if code, resp := h.post("/api/v1/journeys", `{"id":"crm","name":"CRM","triggers":[{"event":"Signed Up"}],
		"steps":[{"webhook":{"url":"`+srv.URL+`/journeys"}}]}`); code != 200 {
		t.Fatalf("journey: %d %v", code, resp)
	}
	if code, resp := h.ingest("/v1/track", `{"userId":"ana","event":"Signed Up","timestamp":"`+h.clock.Now().Format(time.RFC3339)+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	waitFor(t, "the webhook step called", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(verified) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if verified[0] != nil {
		t.Fatalf("signature: %v", verified[0])
	}
}
