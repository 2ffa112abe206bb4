package message_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/store"
)

// TestClaimedBatchCheckedAtDelivery: the checks at delivery, read once for
// a claimed batch, still hold each message to its own customer's state as
// it is after queueing: a withdrawn consent, a suppressed address and a
// topic unsubscribed skip their message only; the others go.
func TestClaimedBatchCheckedAtDelivery(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	for id := int64(1); id <= 6; id++ {
		h.customer(id, nil)
	}
	for id := int64(1); id <= 6; id++ {
		h.send(message.Request{ProfileID: id, Channel: provider.Email, Topic: "offers", Content: offerEmail, Key: fmt.Sprint("b", id)})
	}
	// Transactional, to an address suppressed below: skipped too.
	h.send(message.Request{ProfileID: 3, Channel: provider.Email, Topic: "order_updates", Content: offerEmail, Key: "t3"})
	// After queueing, before any claim:
	h.consent(2, provider.Email, "", false)
	if err := h.st.Suppress(ctx, store.Suppression{Channel: string(provider.Email), Address: "c3@example.com",
		Reason: "hard bounce", Source: "test", At: t0}); err != nil {
		t.Fatal(err)
	}
	h.consent(4, provider.Email, "offers", false)
	h.start()
	for id, want := range map[int64]string{1: "", 2: "email consent withdrawn", 3: "address suppressed: hard bounce",
		4: "unsubscribed from offers", 5: "", 6: ""} {
		key := fmt.Sprint("api:b", id)
		if want == "" {
			h.wait(key, store.MessageSent)
			continue
		}
		m := h.wait(key, store.MessageSkipped)
		if !strings.Contains(m.Reason, want) {
			t.Errorf("message %s skipped for %q, want %q", key, m.Reason, want)
		}
	}
	if m := h.wait("api:t3", store.MessageSkipped); !strings.Contains(m.Reason, "address suppressed") {
		t.Errorf("transactional to a suppressed address: %q", m.Reason)
	}
	if n := len(h.email.Sent()); n != 3 {
		t.Errorf("%d emails sent, want 3", n)
	}
}

// TestComputedTraitsOnlyWhenMentioned: a template reading a computed trait
// gets it; one that reads none renders the same without them.
func TestComputedTraitsOnlyWhenMentioned(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, map[string]any{"first_name": "Zoé"})
	h.start()
	h.send(message.Request{ProfileID: 1, Channel: provider.SMS, Topic: "order_updates", Key: "with",
		Content: &template.Template{SMS: &template.SMS{Body: "Zoé: {{ profile.computed.order_count }} commandes, {{ profile.computed.lifetime_value }} €"}}})
	h.send(message.Request{ProfileID: 1, Channel: provider.SMS, Topic: "order_updates", Key: "without",
		Content: &template.Template{SMS: &template.SMS{Body: "Bonjour {{ profile.first_name }}"}}})
	h.wait("api:with", store.MessageSent)
	h.wait("api:without", store.MessageSent)
	bodies := map[string]string{}
	for _, m := range h.sms.Sent() {
		bodies[m.Key] = m.Body
	}
	if got := bodies["api:with"]; got != "Zoé: 0 commandes, 0 €" {
		t.Errorf("with computed traits: %q", got)
	}
	if got := bodies["api:without"]; got != "Bonjour Zoé" {
		t.Errorf("without: %q", got)
	}
}
