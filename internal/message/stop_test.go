package message_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/store"
)

// TestStopMeansStopOnItsChannel: after STOP from one of her two numbers,
// nothing goes to Zoe by SMS, transactional included, except the
// opt-out confirmation, sent once (the callback delivered twice) to the
// number that texted; push still goes. The confirmation's topic is
// reserved. START from the number lifts the STOP.
func TestStopMeansStopOnItsChannel(t *testing.T) {
	h := newHarness(t, func(o *message.Options) {
		o.Policy.OptOutConfirmation = map[provider.Channel]string{provider.SMS: "STOP pris en compte."}
	})
	h.profile(1, map[string]any{"first_name": "Zoé"}, ident(identity.UserID, "u1"), ident(identity.Phone, "+33600000001"),
		ident(identity.Phone, "+33600000002"), ident(identity.DeviceToken, "tok-1"))
	h.consent(1, provider.SMS, "", true)
	h.consent(1, provider.Push, "", true)
	h.start()
	ctx := context.Background()
	for range 2 {
		if stop, err := h.p.Receive(ctx, message.Inbound{Channel: provider.SMS, From: "06 00 00 00 02", Body: "Stop", ID: "SM1"}); err != nil || !stop {
			t.Fatalf("STOP: %v %v", stop, err)
		}
	}
	for _, r := range []message.Request{
		{Topic: "offers", Key: "offer"},
		{Topic: "order_updates", Key: "receipt"},
	} {
		r.ProfileID, r.Channel, r.Content = 1, provider.SMS, smsHello.Content
		if m := h.send(r); m.Status != store.MessageSkipped || !strings.Contains(m.Reason, "texted STOP") {
			t.Errorf("%s after STOP: %s %q", r.Key, m.Status, m.Reason)
		}
	}
	push := h.send(message.Request{ProfileID: 1, Channel: provider.Push, Topic: "order_updates", Key: "push",
		Content: pushContent})
	h.wait(push.SendKey, store.MessageSent)
	if _, err := h.p.Send(ctx, message.Request{ProfileID: 1, Channel: provider.SMS, Topic: message.OptOutTopic, Key: "sneaky",
		Content: smsHello.Content}); !errors.Is(err, message.ErrInvalid) {
		t.Errorf("a send on the reserved topic: %v", err)
	}
	msgs, err := h.p.ProfileMessages(ctx, 1, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var confirmations []*store.OutboxMessage
	for _, m := range msgs {
		if m.Topic == message.OptOutTopic {
			confirmations = append(confirmations, m)
		}
	}
	if len(confirmations) != 1 {
		t.Fatalf("%d confirmations, want 1", len(confirmations))
	}
	h.wait(confirmations[0].SendKey, store.MessageSent)
	if got := h.sms.Sent(); len(got) != 1 || got[0].Body != "STOP pris en compte." || got[0].To != "+33600000002" {
		t.Fatalf("SMS sent after STOP: %+v", got)
	}

	if _, err := h.p.Receive(ctx, message.Inbound{Channel: provider.SMS, From: "+33600000002", Body: "START", ID: "SM2"}); err != nil {
		t.Fatal(err)
	}
	// The workers run: the message may already be claimed, or sent, when
	// Send reads it back.
	m := h.send(message.Request{ProfileID: 1, Channel: provider.SMS, Topic: "order_updates", Key: "after-start", Content: smsHello.Content})
	if m.Status != store.MessageQueued && m.Status != store.MessageSending && m.Status != store.MessageSent {
		t.Fatalf("after START: %s %q", m.Status, m.Reason)
	}
	h.wait(m.SendKey, store.MessageSent)
}

var pushContent = &template.Template{Push: &template.Push{Title: "Colis", Body: "Votre colis arrive"}}

func TestPolicyRefusesReservedTopicsAndBadConfirmations(t *testing.T) {
	for _, p := range []message.Policy{
		{Topics: map[string]message.Topic{message.OptOutTopic: {Transactional: true}}},
		{OptOutConfirmation: map[provider.Channel]string{provider.Email: "bye"}},
		{OptOutConfirmation: map[provider.Channel]string{provider.SMS: " "}},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: valid", p)
		}
	}
}
