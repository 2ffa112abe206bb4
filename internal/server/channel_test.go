package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/identity"
)

// TestAddingAChannel: a channel described once — one descriptor, added
// here with channel.Extend as a line of the table would add it (fax: a
// name no real channel will take) — is
// known everywhere that names channels, with nothing else changed: its
// opt-in trait is recorded as consent, the consent API and the profile
// take it, a segment can hold the customers it reaches, a journey can
// send on it, a source can stand for it, a providers file can give it a
// provider, and best falls back to it. What it still lacks is what
// docs/architecture.md says a channel needs besides its descriptor: a
// template variant (sends on it are skipped, saying so) and a provider
// package of its own.
func TestAddingAChannel(t *testing.T) {
	restore := channel.Extend(channel.Descriptor{Name: "fax", Address: identity.Phone, Stop: true, Fallback: 99})
	defer restore()
	h := newHarness(t, withProviders(t, `
  - name: fax-gateway
    type: webhook
    channel: fax
    settings: {url: "https://fax.example/send", secret: s3cret}`))

	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/identify", `{"userId":"nina","traits":{"phone":"+33611111111","fax_opt_in":true},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("identify: %d %v", code, resp)
	}
	h.waitUnify()
	var prof map[string]any
	waitFor(t, "fax consent from the fax_opt_in trait", func() bool {
		_, prof = h.api("/api/v1/profiles?user_id=nina")
		c, _ := prof["consent"].(map[string]any)
		_, email := c["email"]
		return c["fax"] == true && email
	})
	if code, resp := h.post("/api/v1/segments?wait=true", `{"id":"fax-reachable","name":"On Fax","where":{"all":[{"reachable":"fax"},{"consent":"fax"}]}}`); code != 200 {
		t.Fatalf("segment on fax: %d %v", code, resp)
	}
	if _, m := h.api("/api/v1/segments/fax-reachable/members"); len(m["members"].([]any)) != 1 {
		t.Fatalf("members of fax-reachable: %v", m)
	}
	if code, resp := h.post("/api/v1/journeys", `{"id":"fax-promo","name":"Fax promo","triggers":[{"event":"Signed Up"}],
		"steps":[{"send":{"channel":"fax","template":"promo"}}]}`); code != 200 {
		t.Fatalf("journey sending on fax: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/sources", `{"name":"Fax replies","channel":"fax"}`); code != 201 {
		t.Fatalf("source on fax: %d %v", code, resp)
	}

	// Without a template variant, a send on it is skipped and says why;
	// best tries it last, after the table's other channels.
	for _, tc := range []struct{ channel, want string }{
		{"fax", "the template has no fax variant"},
		{"best", ", fax: the template has no fax variant\""},
	} {
		code, msg := h.adminJSON("POST", "/api/v1/messages", `{"identifier":"user_id:nina","channel":"`+tc.channel+`","topic":"offers",
			"content":{"sms":{"body":"-20% ce week-end"}},"idempotency_key":"k-`+tc.channel+`"}`)
		// The reasons as JSON strings: best's ends with the channel it tried last.
		if code != 202 || msg["status"] != "skipped" || !strings.Contains(toJSON(msg["reason"])+toJSON(msg["channel_reason"]), tc.want) {
			t.Errorf("send on %s: %d %v, want skipped: %s", tc.channel, code, msg, tc.want)
		}
	}
	if code, rec := h.adminJSON("POST", "/api/v1/consent", `{"profile_id":`+jsonNumber(prof["id"])+`,"channel":"fax","granted":false}`); code != 201 {
		t.Fatalf("consent on fax: %d %v", code, rec)
	}

	// Without its descriptor, the same definitions are refused.
	restore()
	if code, resp := h.post("/api/v1/segments", `{"id":"fax-again","name":"On Fax","where":{"reachable":"fax"}}`); code != 400 ||
		!strings.Contains(toJSON(resp), "expected one of email, sms, push, whatsapp") {
		t.Errorf("segment on fax once the descriptor is gone: %d %v", code, resp)
	}
}
