package stories_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/sms"
)

// TestStorySMSStop: Nina leaves her cart; the email comes after an hour,
// the SMS nudge a day later, and Twilio reports it delivered. She
// answers STOP. From then on nothing goes to her number — not the next
// cart's SMS nudge a week later (the email still comes: she only refused
// SMS), not an offer the brand sends through the API — except, at most,
// one confirmation of the opt-out right after it.
func TestStorySMSStop(t *testing.T) {
	l := playStop(t)
	// An offer by SMS through the API: refused, with the reason.
	var m map[string]any
	l.call("POST", "/api/v1/messages", map[string]any{"identifier": "user_id:nina-5", "channel": "sms", "topic": "offers",
		"content": map[string]any{"sms": map[string]any{"body": "-20% ce week-end"}}, "idempotency_key": "promo-weekend"}, &m)
	if m["status"] != "skipped" || !strings.Contains(m["reason"].(string), "STOP") {
		t.Fatalf("an SMS offer after STOP: %v", m)
	}
	l.at(10 * 24 * time.Hour)
	stopAfter(l)
}

// TestStorySMSStopMeansStop: after STOP, not even an order update (a
// transactional topic) goes by SMS.
func TestStorySMSStopMeansStop(t *testing.T) {
	l := playStop(t)
	var m map[string]any
	l.call("POST", "/api/v1/messages", map[string]any{"identifier": "user_id:nina-5", "channel": "sms", "topic": "order_updates",
		"content": map[string]any{"sms": map[string]any{"body": "Votre commande web-77 est expédiée"}}, "idempotency_key": "shipped-web-77"}, &m)
	if m["status"] != "skipped" {
		t.Fatalf("a transactional SMS after STOP: %v", m)
	}
	l.at(10 * 24 * time.Hour)
	stopAfter(l)
}

const ninaPhone = "+33655443322"

// ninaNudge is the abandoned cart's SMS nudge as Nina reads it.
const ninaNudge = "Nina, votre panier expire bientôt : https://shop.example/cart?utm_campaign=abandoned-cart&utm_medium=sms&utm_source=parcours STOP au 36111"

// stopAt is when Nina answers STOP.
const stopAt = 25 * time.Hour

// playStop plays the story up to the second cart's email, a week after
// STOP.
func playStop(t *testing.T) *live {
	l := newLive(t, liveOptions{})
	l.openShop(map[string]int{"TR-42@lyon-bellecour": 3})
	l.apply("../../examples/journeys/abandoned-cart.yaml")
	l.track("identify", map[string]any{"userId": "nina-5", "traits": map[string]any{"first_name": "Nina", "email": "nina@example.fr",
		"phone": ninaPhone, "emailOptIn": true, "smsOptIn": true}})
	l.settle()
	addToCart := func() {
		l.track("track", map[string]any{"userId": "nina-5", "event": "Product Added",
			"properties": map[string]any{"sku": "TR-42", "product_id": "trail-runner", "name": "Trail runner", "price": 89.9, "quantity": 1}})
	}
	addToCart()
	l.at(time.Hour)
	if n := len(l.box.list("email", "nina@example.fr")); n != 1 {
		t.Fatalf("%d reminder emails at +1h, want 1", n)
	}
	l.at(24 * time.Hour)
	nudge := l.expectSent("sms", ninaPhone, ninaNudge)[0]

	// Twilio calls back: delivered. The status callback is signed with
	// the auth token over the URL Twilio was given.
	l.twilioHook("status", url.Values{"MessageSid": {nudge.ID}, "MessageStatus": {"delivered"}, "To": {ninaPhone},
		"From": {twilioFrom}, "AccountSid": {twilioSID}, "ApiVersion": {"2010-04-01"}})
	l.eventually("Message Delivered on Nina's timeline", func() bool {
		return strings.Contains(l.timeline("user_id=nina-5"), `"Message Delivered"`)
	})

	l.at(stopAt)
	l.twilioHook("inbound", url.Values{"MessageSid": {"SM" + strings.Repeat("f", 32)}, "From": {ninaPhone}, "To": {twilioFrom},
		"Body": {"STOP"}, "NumMedia": {"0"}, "AccountSid": {twilioSID}, "ApiVersion": {"2010-04-01"}})
	l.settle()
	p := l.profile("user_id=nina-5")
	if c := p["consent"].(map[string]any); c["sms"] != false || c["email"] != true {
		t.Fatalf("consent after STOP: %v", c)
	}

	// A week later she fills a cart again: the email comes, the SMS
	// nudge does not.
	l.at(8 * 24 * time.Hour)
	addToCart()
	l.at(8*24*time.Hour + time.Hour)
	if n := len(l.box.list("email", "nina@example.fr")); n != 2 {
		t.Fatalf("%d reminder emails after the second cart, want 2", n)
	}
	l.at(9*24*time.Hour + time.Hour)
	return l
}

// stopAfter checks what reached Nina's number: the nudge before STOP,
// then at most one opt-out confirmation, sent at once.
func stopAfter(l *live) {
	t := l.t
	got := l.box.list("sms", ninaPhone)
	if len(got) == 0 || got[0].Body != ninaNudge {
		t.Fatalf("Nina's SMS: %+v", got)
	}
	switch after := got[1:]; {
	case len(after) > 1:
		t.Fatalf("%d SMS after STOP: %+v", len(after), after)
	case len(after) == 1 && strings.Contains(after[0].Body, "panier"):
		t.Fatalf("a cart SMS after STOP: %q", after[0].Body)
	case len(after) == 1:
		t.Logf("opt-out confirmation: %q", after[0].Body)
	}
	l.noDuplicates()
}

// twilioHook posts to the server's Twilio webhook (status or inbound)
// what Twilio would: a form signed with the auth token over the public
// URL of the hook.
func (l *live) twilioHook(kind string, form url.Values) {
	l.t.Helper()
	path := "/hooks/twilio/twilio-fr/" + kind
	req, _ := http.NewRequest("POST", l.http.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sms.TwilioSignature(twilioToken, publicURL+path, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		l.t.Fatalf("Twilio %s webhook: %d", kind, resp.StatusCode)
	}
}
