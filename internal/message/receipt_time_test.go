package message_test

import (
	"context"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

// TestReceiptTimeTheLogCannotHold: a receipt's time comes from outside (a
// bounce mail's Arrival-Date, a provider's timestamp). One the event log
// cannot write back (years outside 1-9999 once in UTC) is recorded at the
// time it arrives, instead of an event no reader of the log could decode.
func TestReceiptTimeTheLogCannotHold(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, nil)
	h.start()
	ctx := context.Background()
	h.send(message.Request{ProfileID: 1, Channel: provider.Email, Topic: "order_updates", Content: offerEmail, Key: "r"})
	m := h.wait("api:r", store.MessageSent)
	for i, at := range []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600)),         // year -1 in UTC
		time.Date(9999, 12, 31, 23, 30, 0, 0, time.FixedZone("", -3600)), // year 10000 in UTC
		time.Unix(1<<40, 0),
	} {
		st := []provider.Status{provider.Delivered, provider.Opened, provider.SoftBounced}[i]
		if err := h.p.HandleReceipt(ctx, provider.Receipt{Provider: "fake-email", ProviderID: m.ProviderID, Status: st, At: at}); err != nil {
			t.Fatalf("receipt at %s: %v", at, err)
		}
	}
	es, err := h.st.ListEvents(ctx, store.EventQuery{Limit: 1000, Ascending: true})
	if err != nil {
		t.Fatalf("the log cannot be read after receipts at impossible times: %v", err)
	}
	n := 0
	for _, e := range es {
		if e.Event == message.EventDelivered || e.Event == message.EventOpened || e.Event == message.EventBounced {
			n++
			if !e.Timestamp.Equal(h.clock.Now()) {
				t.Errorf("%s at %s, want the arrival time %s", e.Event, e.Timestamp, h.clock.Now())
			}
		}
	}
	if n != 3 {
		t.Fatalf("%d receipt events, want 3", n)
	}
}
