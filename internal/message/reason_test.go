package message_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

// TestProviderErrorTextIsRecorded: a provider's error text is whatever it
// answered: bytes that are not UTF-8 (an error page in Latin-1, an answer
// cut inside a character) and pages of it. The message is recorded
// failed with a readable reason of bounded size; before, PostgreSQL
// refused the reason's bytes and the recorder retried the batch for ever,
// holding every outcome behind it.
func TestProviderErrorTextIsRecorded(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, nil)
	h.sms.Fail = func(m *provider.Message, attempt int) error {
		return &provider.Error{Provider: "fake-sms", Code: "21211",
			Err: errors.New("HTTP 400: num\xe9ro invalide \xc3 " + strings.Repeat("détail ", 10000))}
	}
	h.start()
	r := smsHello
	r.ProfileID, r.Key = 1, "latin1"
	h.send(r)
	m := h.wait("api:latin1", store.MessageFailed)
	if !utf8.ValidString(m.Reason) || !strings.Contains(m.Reason, "num\uFFFDro invalide") || len(m.Reason) > 4096 {
		t.Fatalf("reason (%d bytes) %q", len(m.Reason), m.Reason[:min(len(m.Reason), 300)])
	}
}

// TestBounceReasonIsRecorded: a bounce's Diagnostic-Code in Latin-1
// suppresses the address like any other; before, PostgreSQL refused the
// suppression's reason and the receipt failed (a provider retries it, a
// bounce mail is lost).
func TestBounceReasonIsRecorded(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, nil)
	h.start()
	h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "order_updates", Content: offerEmail, Key: "b"})
	m := h.wait("api:b", store.MessageSent)
	if err := h.p.HandleReceipt(context.Background(), provider.Receipt{Provider: "fake-email", ProviderID: m.ProviderID,
		Status: provider.Bounced, Code: "5.1.1", Reason: "550 5.1.1 bo\xeete inconnue"}); err != nil {
		t.Fatalf("bounce with a Latin-1 reason: %v", err)
	}
	again := h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "order_updates", Content: offerEmail, Key: "b2"})
	if again.Status != store.MessageSkipped || !strings.Contains(again.Reason, "bo\uFFFDte inconnue") {
		t.Fatalf("after the bounce: %s %q", again.Status, again.Reason)
	}
}
