package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/sms"
	"github.com/parcours/parcours/internal/server"
)

// TestStopMeansStop: after Zoe texts STOP (Twilio's callback, delivered
// twice), nothing goes to her number but the opt-out confirmation, once:
// not a journey's order update, not a transactional API send, not a
// scheduled broadcast. Each of them is in the outbox, skipped with the
// reason.
func TestStopMeansStop(t *testing.T) {
	var mu sync.Mutex
	var sent []url.Values
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		mu.Lock()
		sent = append(sent, r.PostForm)
		mu.Unlock()
		w.WriteHeader(201)
		io.WriteString(w, `{"sid":"SM0001","status":"queued"}`)
	}))
	defer twilio.Close()
	confirm := "Vous ne recevrez plus de SMS de Boutique. START pour revenir."
	h := newHarness(t, withProviders(t, `
  - name: twilio-fr
    type: twilio
    channel: sms
    settings:
      account_sid: AC123
      auth_token: tok
      from: "+33700000000"
      base_url: `+twilio.URL), func(o *server.Options) {
		o.Messages.Policy.OptOutConfirmation = map[provider.Channel]string{provider.SMS: confirm}
	})
	for _, s := range []struct{ path, body string }{
		{"/api/v1/templates", `{"id":"shipped","topic":"order_updates","body":{"sms":{"body":"Commande {{ order.id }} expediee"}}}`},
		{"/api/v1/templates", `{"id":"soldes","topic":"offers","body":{"sms":{"body":"Soldes -50% ce week-end"}}}`},
		{"/api/v1/segments?wait=true", `{"id":"zoe","name":"Zoe","where":{"trait":"first_name","equals":"Zoe"}}`},
		{"/api/v1/journeys", `{"id":"shipped","name":"Shipped","triggers":[{"event":"Order Shipped"}],"re_entry":{"policy":"always"},
			"steps":[{"send":{"channel":"sms","template":"shipped"}}]}`},
	} {
		if code, resp := h.post(s.path, s.body); code/100 != 2 {
			t.Fatalf("POST %s: %d %v", s.path, code, resp)
		}
	}
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/identify", `{"userId":"zoe","traits":{"phone":"+33612345678","smsOptIn":true,"first_name":"Zoe"},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	pid := jsonNumber(float64(h.profileOf("zoe")))
	waitFor(t, "sms consent from the traits", func() bool {
		_, c := h.api("/api/v1/profiles/" + pid + "/consent")
		return strings.Contains(toJSON(c["current"]), `"granted":true`)
	})

	// STOP, and Twilio delivering the callback a second time.
	inbound := url.Values{"MessageSid": {"SM9"}, "From": {"+33612345678"}, "To": {"+33700000000"}, "Body": {"STOP"}, "AccountSid": {"AC123"}}
	in := "/hooks/twilio/twilio-fr/inbound"
	for range 2 {
		req, _ := http.NewRequest("POST", h.http.URL+in, strings.NewReader(inbound.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sms.TwilioSignature("tok", "https://shop.example"+in, inbound))
		res, err := h.client.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("inbound STOP: %v %v", res, err)
		}
		res.Body.Close()
	}

	// A journey's order update, a transactional API send, a broadcast.
	if code, resp := h.ingest("/v1/track", `{"userId":"zoe","event":"Order Shipped","properties":{"order_id":"A-1"},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/messages", `{"identifier":"user_id:zoe","channel":"sms","topic":"order_updates",
		"content":{"sms":{"body":"Votre colis arrive demain"}},"idempotency_key":"parcel-1"}`); code/100 != 2 {
		t.Fatalf("transactional send: %d %v", code, resp)
	}
	if code, resp := h.post("/api/v1/journeys", `{"id":"soldes","name":"Soldes","triggers":[{"schedule":{"at":"10:30","segment":"zoe"}}],
		"steps":[{"send":{"channel":"sms","template":"soldes"}}]}`); code/100 != 2 {
		t.Fatalf("broadcast: %d %v", code, resp)
	}
	// The schedule first notes its last occurrence, then runs at 10:30.
	waitFor(t, "the broadcast's schedule noted", func() bool {
		done, err := h.st.Checkpoint(context.Background(), "journey-schedule:soldes:0")
		return err == nil && done > 0
	})
	h.clock.Advance(31 * time.Minute)

	// Every message to Zoe settles: the three skipped with the reason,
	// the confirmation sent; nothing is left to go.
	var msgs []any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		_, list := h.api("/api/v1/profiles/" + pid + "/messages?limit=20")
		msgs, _ = list["messages"].([]any)
		settled := 0
		for _, m := range msgs {
			if st := m.(map[string]any)["status"]; st == "skipped" || st == "sent" {
				settled++
			}
		}
		if len(msgs) >= 4 && settled == len(msgs) {
			break
		}
	}
	if len(msgs) != 4 {
		t.Errorf("%d messages to Zoe, want 4: %s", len(msgs), toJSON(msgs))
	}
	for _, m := range msgs {
		m := m.(map[string]any)
		key, status, reason := m["send_key"].(string), m["status"], m["reason"]
		switch {
		case strings.HasPrefix(key, "journey:shipped:"), key == "api:parcel-1", strings.HasPrefix(key, "journey:soldes:"):
			if status != "skipped" || !strings.Contains(reason.(string), "texted STOP") {
				t.Errorf("%s: %s %v", key, status, reason)
			}
		case m["topic"] == message.OptOutTopic:
			if status != "sent" {
				t.Errorf("confirmation %s: %s %v", key, status, reason)
			}
		default:
			t.Errorf("unexpected message %v", m)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 1 || sent[0].Get("Body") != confirm || sent[0].Get("To") != "+33612345678" {
		t.Fatalf("Twilio received %v, want only the confirmation; messages %s", sent, toJSON(msgs))
	}
}
