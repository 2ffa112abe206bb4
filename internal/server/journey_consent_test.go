package server_test

import (
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
)

// TestJourneyBranchReadsTheConsentLedger: a journey's `reachable: sms`
// branch holds for a customer whose SMS consent was given through the API
// (the consent ledger), not only by an opt-in trait, as the send itself
// checks: she gets the SMS, not the email of the else branch.
func TestJourneyBranchReadsTheConsentLedger(t *testing.T) {
	sms := messagetest.NewRecorder("sms-test", provider.SMS)
	mail := messagetest.NewRecorder("smtp-test", provider.Email)
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.SMS: {Provider: sms}, provider.Email: {Provider: mail}}
		o.Messages.BaseURL = "https://shop.example"
	})
	for _, tpl := range []string{
		`{"id":"ready-sms","topic":"order_updates","body":{"sms":{"body":"Commande {{ event.order_id }} prête"}}}`,
		`{"id":"ready-email","topic":"order_updates","body":{"email":{"subject":"Commande {{ event.order_id }} prête","html":"<p>prête</p>"}}}`,
	} {
		if code, resp := h.post("/api/v1/templates", tpl); code != 201 {
			t.Fatalf("template: %d %v", code, resp)
		}
	}
	if code, resp := h.post("/api/v1/journeys", `{"id":"ready","name":"Ready","triggers":[{"event":"Order Ready"}],
		"steps":[{"branch":{"cases":[{"when":{"reachable":"sms"},"steps":[{"send":{"channel":"sms","template":"ready-sms"}}]}],
		"else":[{"send":{"channel":"email","template":"ready-email"}}]}}]}`); code != 200 {
		t.Fatalf("journey: %d %v", code, resp)
	}
	ts := h.clock.Now().Format(time.RFC3339)
	// A phone and an email, no SMS opt-in trait.
	if code, resp := h.ingest("/v1/batch", `{"batch":[{"type":"identify","userId":"ines","timestamp":"`+ts+`",
		"traits":{"email":"ines@example.fr","phone":"+33612345678","emailOptIn":true}}]}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	ines := h.profileOf("ines")
	h.settle()
	// She says yes to SMS at the till: the consent ledger.
	if code, resp := h.adminJSON("POST", "/api/v1/consent", `{"profile_id":`+jsonNumber(float64(ines))+`,"channel":"sms","granted":true,"source":"till"}`); code != 201 {
		t.Fatalf("consent: %d %v", code, resp)
	}
	h.settle()
	if code, resp := h.ingest("/v1/batch", `{"batch":[{"type":"track","userId":"ines","event":"Order Ready","properties":{"order_id":"CC-7"},"timestamp":"`+ts+`"}]}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(sms.Sent())+len(mail.Sent()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if s := sms.Sent(); len(s) != 1 || len(mail.Sent()) != 0 {
		t.Fatalf("sent %d SMS and %d emails, want the SMS only", len(s), len(mail.Sent()))
	}
}
