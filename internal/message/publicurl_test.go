package message_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

// TestNoMarketingEmailWithoutUnsubscribeLink: without a public URL there
// is no List-Unsubscribe link, so marketing emails are skipped with the
// fix in the reason; transactional emails and marketing SMS still go, and
// "best" passes over email. A marketing email queued without the headers
// (by another process, or before this rule) is skipped by the worker.
func TestNoMarketingEmailWithoutUnsubscribeLink(t *testing.T) {
	h := newHarness(t, func(o *message.Options) { o.BaseURL = "" })
	h.customer(1, map[string]any{"first_name": "Zoé"})
	h.start()
	if ok, msg := h.p.UnsubscribeStatus(); ok || !strings.Contains(msg, "--public-url") {
		t.Errorf("UnsubscribeStatus = %v, %q", ok, msg)
	}
	m := h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "offers", Content: offerEmail, Key: "offer"})
	if m.Status != store.MessageSkipped || !strings.Contains(m.Reason, "no unsubscribe link") || !strings.Contains(m.Reason, "--public-url") {
		t.Fatalf("marketing email: %s %q", m.Status, m.Reason)
	}
	h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "order_updates", Content: offerEmail, Key: "receipt"})
	h.wait("api:receipt", store.MessageSent)
	h.send(message.Request{ProfileID: 1, Channel: provider.SMS, Topic: "offers", Content: smsHello.Content, Key: "sms"})
	h.wait("api:sms", store.MessageSent)
	best := h.send(message.Request{ProfileID: 1, Channel: message.Best, Topic: "offers", Content: offerEmail, Key: "best"})
	if best.Status != store.MessageSkipped || !strings.Contains(best.ChannelReason, "email: no unsubscribe link") {
		t.Fatalf("best: %s %q %q", best.Status, best.Reason, best.ChannelReason)
	}

	// A marketing email in the outbox without List-Unsubscribe.
	body, _ := json.Marshal(provider.Message{Key: "api:legacy", Channel: provider.Email, To: "c1@example.com", Subject: "Soldes", HTML: "<p>-50%</p>"})
	if _, err := h.st.EnqueueMessages(context.Background(), []*store.OutboxMessage{{SendKey: "api:legacy", ProfileID: 1,
		Channel: "email", Address: "c1@example.com", Topic: "offers", Status: store.MessageQueued, Payload: body,
		DueAt: h.clock.Now(), CreatedAt: h.clock.Now()}}); err != nil {
		t.Fatal(err)
	}
	legacy := h.wait("api:legacy", store.MessageSkipped)
	if !strings.Contains(legacy.Reason, "no unsubscribe link") {
		t.Fatalf("queued marketing email without headers: %q", legacy.Reason)
	}
	for _, sent := range h.email.Sent() {
		if sent.Key != "api:receipt" {
			t.Errorf("sent %s", sent.Key)
		}
	}
}

func TestCheckPublicURL(t *testing.T) {
	tests := []struct {
		url      string
		err      bool
		warnings int
	}{
		{"", false, 0},
		{"https://crm.shop.example", false, 0},
		{"https://crm.shop.example/parcours/", false, 0},
		{"http://crm.shop.example", false, 1},
		{"http://127.0.0.1:8080", false, 2},
		{"https://localhost", false, 1},
		{"crm.shop.example", true, 0},
		{"ftp://crm.shop.example", true, 0},
		{"https://crm.shop.example/?x=1", true, 0},
		// Links would land in the query or the fragment (FuzzPublicURL).
		{"https://crm.shop.example/?", true, 0},
		{"https://crm.shop.example/#", true, 0},
	}
	for _, tc := range tests {
		w, err := message.CheckPublicURL(tc.url)
		if (err != nil) != tc.err || len(w) != tc.warnings {
			t.Errorf("CheckPublicURL(%q) = %v, %v", tc.url, w, err)
		}
	}
}
