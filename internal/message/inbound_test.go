package message_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
)

// takeFunc adapts a function to message.InboundHandler.
type takeFunc func(ctx context.Context, in message.Inbound, profiles []int64) (bool, error)

func (f takeFunc) TakeInbound(ctx context.Context, in message.Inbound, profiles []int64) (bool, error) {
	return f(ctx, in, profiles)
}

// TestInboundTextsGoToTheHandlersInOrder: a text that is not a keyword
// goes to the handlers in the order they were added, with the profiles
// holding the number (a WhatsApp wa_id gains its '+'); the first that
// takes it ends the round; a keyword never reaches them; a handler's
// error comes back to the callback.
func TestInboundTextsGoToTheHandlersInOrder(t *testing.T) {
	h := newHarness(t, nil)
	h.profile(1, nil, ident(identity.UserID, "u1"), ident(identity.Phone, "+33600000001"))
	ctx := context.Background()
	if took, err := h.p.Receive(ctx, message.Inbound{Channel: provider.SMS, From: "+33600000001", Body: "9"}); took || err != nil {
		t.Fatalf("no handler: took %v, %v", took, err)
	}
	var calls []string
	var seen []int64
	var from string
	h.p.OnInbound(takeFunc(func(_ context.Context, in message.Inbound, ids []int64) (bool, error) {
		calls = append(calls, "survey:"+in.Body)
		seen, from = ids, in.From
		if in.Body == "boom" {
			return false, errors.New("boom")
		}
		return in.Body == "9", nil
	}))
	h.p.OnInbound(takeFunc(func(_ context.Context, in message.Inbound, _ []int64) (bool, error) {
		calls = append(calls, "service:"+in.Body)
		return true, nil
	}))
	for _, body := range []string{"9", "Bonjour, ma commande ?", "STOP"} {
		if took, err := h.p.Receive(ctx, message.Inbound{Channel: provider.WhatsApp, From: "33600000001", Body: body}); !took || err != nil {
			t.Fatalf("%q: took %v, %v", body, took, err)
		}
	}
	if want := []string{"survey:9", "survey:Bonjour, ma commande ?", "service:Bonjour, ma commande ?"}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	if from != "+33600000001" || !slices.Equal(seen, []int64{1}) {
		t.Errorf("handler saw from %q profiles %v", from, seen)
	}
	if _, err := h.p.Receive(ctx, message.Inbound{Channel: provider.SMS, From: "+33600000009", Body: "boom"}); err == nil {
		t.Error("a handler's error was lost")
	}
	if len(seen) != 0 {
		t.Errorf("an unknown number's profiles: %v", seen)
	}
}
