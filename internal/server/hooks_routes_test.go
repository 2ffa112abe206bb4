package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/message/webhook"
)

// TestProviderCallbackRoutes: every provider type's callbacks are served
// from its description (providers.Hooks), for the named provider of that
// type only, and a callback that does not authenticate is refused. Vonage
// calls back by GET as well as POST; a webhook provider's signed receipt
// for a message this server never sent is taken (200), not retried.
func TestProviderCallbackRoutes(t *testing.T) {
	h := newHarness(t, withProviders(t, `
  - name: vg
    type: vonage
    settings: {api_key: key, api_secret: s, from: Boutique}
  - name: crm
    type: webhook
    settings: {url: "https://crm.example/hook", secret: crm-secret}
  - name: tw
    type: twilio
    settings: {account_sid: AC1, auth_token: tok, from: "+33700000000"}
  - name: wa
    type: whatsapp
    settings: {phone_number_id: "1", access_token: t, app_secret: app, verify_token: v}`))
	names := map[string]string{providers.TypeVonage: "vg", providers.TypeWebhook: "crm", providers.TypeTwilio: "tw", providers.TypeWhatsApp: "wa"}
	for _, hk := range providers.Hooks() {
		if names[hk.Type] == "" {
			continue // a type this test configures no provider of
		}
		method := hk.Method
		if method == "" {
			method = "POST"
		}
		for name, want := range map[string]int{"nobody": 404, "vg": 404, names[hk.Type]: 403} {
			if name == "vg" && hk.Type == providers.TypeVonage {
				continue
			}
			if code, _, _ := h.do(method, "/hooks/"+hk.Type+"/"+name+hk.Path, nil, nil); code != want {
				t.Errorf("%s /hooks/%s/%s%s: %d, want %d", method, hk.Type, name, hk.Path, code, want)
			}
		}
	}
	for path, want := range map[string]int{
		"/hooks/vonage/vg/dlr?api-key=key&messageId=m1&status=buffered":                   200, // interim: nothing to record
		"/hooks/vonage/vg/dlr?api-key=nope&messageId=m1&status=delivered":                 403,
		"/hooks/vonage/vg/inbound?api-key=key&messageId=i1&msisdn=33600000009&text=START": 200, // a number no profile holds
	} {
		if code, _, _ := h.do("GET", path, nil, nil); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	body := []byte(`{"provider_id":"never-sent","status":"delivered","at":"2026-11-23T10:00:00Z"}`)
	sig := webhook.Sign("crm-secret", h.clock.Now(), body)
	if code, _, _ := h.do("POST", "/hooks/webhook/crm/receipts", body, map[string]string{webhook.SignatureHeader: sig}); code != http.StatusOK {
		t.Errorf("signed receipt for an unknown message: %d, want 200", code)
	}
	stale := webhook.Sign("crm-secret", h.clock.Now().Add(-time.Hour), body)
	if code, _, _ := h.do("POST", "/hooks/webhook/crm/receipts", body, map[string]string{webhook.SignatureHeader: stale}); code != http.StatusForbidden {
		t.Errorf("stale receipt: %d, want 403", code)
	}
}
