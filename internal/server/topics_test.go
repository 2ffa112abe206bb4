package server_test

import (
	"strings"
	"testing"
)

// TestTransactionalTopicRefusesPromotionalTemplate: a journey whose send
// step puts a promotional template (its own topic is marketing, or it
// declares none) on a transactional topic is refused when saved, with the
// step's path; an API send doing the same is refused; a template whose
// own topic is transactional goes.
func TestTransactionalTopicRefusesPromotionalTemplate(t *testing.T) {
	h := newHarness(t)
	for _, body := range []string{
		`{"id":"soldes","topic":"offers","body":{"sms":{"body":"Soldes -50%"}}}`,
		`{"id":"untitled","body":{"sms":{"body":"Bonjour"}}}`,
		`{"id":"shipped","topic":"order_updates","body":{"sms":{"body":"Commande {{ order.id }} expediee"}}}`,
	} {
		if code, resp := h.post("/api/v1/templates", body); code != 201 {
			t.Fatalf("template: %d %v", code, resp)
		}
	}
	for _, tc := range []struct{ template, declared string }{{"soldes", `its topic \"offers\" is marketing`}, {"untitled", "it declares no topic"}} {
		code, resp := h.post("/api/v1/journeys", `{"id":"j","name":"J","triggers":[{"event":"Order Shipped"}],
			"steps":[{"wait":{"for":"1h"}},{"send":{"channel":"sms","template":"`+tc.template+`","topic":"order_updates"}}]}`)
		e, _ := resp["error"].(map[string]any)
		if code != 400 || e == nil || e["details"].(map[string]any)["path"] != "steps[1].send.topic" ||
			!strings.Contains(toJSON(e), "is promotional ("+tc.declared+") and cannot be sent on the transactional topic") {
			t.Fatalf("journey sending %s on order_updates: %d %s", tc.template, code, toJSON(resp))
		}
	}
	if code, resp := h.post("/api/v1/journeys", `{"id":"j","name":"J","triggers":[{"event":"Order Shipped"}],
		"steps":[{"send":{"channel":"sms","template":"shipped","topic":"order_updates"}},{"send":{"channel":"sms","template":"soldes"}}]}`); code != 200 {
		t.Fatalf("journey with a transactional template, and a promotional one on its own topic: %d %v", code, resp)
	}
	if code, resp := h.ingest("/v1/identify", `{"userId":"zoe","traits":{"phone":"+33612345678"}}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	code, resp := h.post("/api/v1/messages", `{"identifier":"user_id:zoe","channel":"sms","template_id":"soldes","topic":"order_updates","idempotency_key":"k"}`)
	if code != 400 || !strings.Contains(toJSON(resp), "is promotional") {
		t.Fatalf("API send of a promotional template on a transactional topic: %d %v", code, resp)
	}
}
