package commerce_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
)

func cartString(c *commerce.Cart) string {
	var out []string
	for _, it := range c.Items {
		out = append(out, fmt.Sprintf("%s×%d@%.2f", it.SKU, it.Quantity, it.Price))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// TestTrackedEventsChangeTheCartOnce: tracked Product Added and Removed
// change the customer's cart, each once however often the log is read
// again; not when they come from a channel that keeps the cart through
// the API; an order empties what was put in before it, and an add older
// than the order is not put back.
func TestTrackedEventsChangeTheCartOnce(t *testing.T) {
	svc, sk, clk := newService(t)
	ctx := context.Background()
	seq := int64(0)
	ev := func(name, channel string, at time.Time, props string) *event.Event {
		seq++
		return &event.Event{Seq: seq, MessageID: fmt.Sprint("m", seq), Type: event.Track, Event: name, UserID: "sara", SourceID: "src_web",
			Channel: channel, Timestamp: at, Properties: json.RawMessage(props)}
	}
	cart := func() string {
		c, err := svc.Cart(ctx, "user_id:sara")
		if err != nil {
			t.Fatal(err)
		}
		return cartString(c)
	}
	batch := []*event.Event{
		ev("Product Added", "web", t0, `{"sku":"SHOE-42"}`), // name and price from the catalog
		ev("Product Added", "ios", t0.Add(time.Minute), `{"sku":"BAG-1","quantity":2,"price":40}`),
		ev("Product Removed", "ios", t0.Add(2*time.Minute), `{"sku":"BAG-1"}`),
		ev("Product Removed", "ios", t0.Add(2*time.Minute), `{"sku":"NOT-THERE"}`),
	}
	for range 2 { // the same batch read again after a crash
		if err := svc.Handle(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if got := cart(); got != "BAG-1×1@40.00 SHOE-42×1@89.90" {
			t.Fatalf("cart %s", got)
		}
	}

	// The batch's changes are written at once: one Cart Updated, with the
	// whole cart, not earlier than the events it applied.
	updates := func() []*event.Event {
		sk.flush()
		var out []*event.Event
		for _, e := range sk.events {
			if e.Event == commerce.EventCartUpdated {
				out = append(out, e)
			}
		}
		return out
	}
	if u := updates(); len(u) != 1 || u[0].Timestamp.Before(t0.Add(2*time.Minute)) || !strings.Contains(string(u[0].Properties), `"BAG-1"`) {
		t.Fatalf("Cart Updated %+v", u)
	}

	// The web shop saves the cart itself: its tracked events are its
	// analytics of the same changes, not changes of their own.
	clk.Advance(time.Hour)
	c, _ := svc.Cart(ctx, "user_id:sara")
	if _, err := svc.SetCart(ctx, "user_id:sara", c.Items, "EUR", "web", c.Version); err != nil {
		t.Fatal(err)
	}
	later := clk.Now().Add(time.Minute)
	if err := svc.Handle(ctx, []*event.Event{
		ev("Product Added", "web", later, `{"sku":"SHOE-42"}`),
		ev("Product Added", "ios", later, `{"sku":"SOCK","price":5}`),
	}); err != nil {
		t.Fatal(err)
	}
	if got := cart(); got != "BAG-1×1@40.00 SHOE-42×1@89.90 SOCK×1@5.00" {
		t.Fatalf("cart %s", got)
	}

	// She orders; an add from before the order, read late, stays out.
	order := later.Add(time.Minute)
	if err := svc.Handle(ctx, []*event.Event{
		ev("Order Completed", "web", order, `{"order_id":"S-1","total":134.9}`),
		ev("Product Added", "ios", order.Add(-time.Second), `{"sku":"HAT","price":20}`),
		ev("Product Added", "ios", order.Add(time.Second), `{"sku":"CAP","price":15}`),
	}); err != nil {
		t.Fatal(err)
	}
	if got := cart(); got != "CAP×1@15.00" {
		t.Fatalf("cart after the order %s", got)
	}
	// Each version of the cart is later than the previous one, whatever
	// the clock did.
	u := updates()
	for i := 1; i < len(u); i++ {
		if !u[i].Timestamp.After(u[i-1].Timestamp) {
			t.Fatalf("Cart Updated %d at %v, not after %v", i, u[i].Timestamp, u[i-1].Timestamp)
		}
	}
}

// TestMergeCartsDropsWhatWasBought: merging an anonymous cart into a
// cart emptied by an order after the anonymous lines were put in leaves
// them out; the merged cart is later than both.
func TestMergeCartsDropsWhatWasBought(t *testing.T) {
	into := &commerce.Cart{Customer: "user_id:sara", ClearedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(3 * time.Hour),
		Items: []commerce.CartItem{{SKU: "CAP", Quantity: 1, UpdatedAt: t0.Add(2 * time.Hour)}}, KeptBy: []string{"web"}, AppliedSeq: 4}
	from := &commerce.Cart{Customer: "anonymous_id:a1", UpdatedAt: t0.Add(4 * time.Hour), AppliedSeq: 9, KeptBy: []string{"app"},
		Items: []commerce.CartItem{{SKU: "HAT", Quantity: 1, UpdatedAt: t0}, {SKU: "SOCK", Quantity: 2, UpdatedAt: t0.Add(4 * time.Hour)}}}
	got := commerce.MergeCarts(into, from, t0.Add(time.Hour))
	if s := cartString(got); s != "CAP×1@0.00 SOCK×2@0.00" {
		t.Fatalf("merged %s", s)
	}
	if !got.UpdatedAt.After(from.UpdatedAt) || got.AppliedSeq != 9 || !slices.Equal(got.KeptBy, []string{"web", "app"}) {
		t.Fatalf("merged %+v", got)
	}
}

// TestCartEventNamesTheCustomer: a Cart Updated names the customer its
// cart is kept under, so that unify puts it on their profile, whatever
// the identifier.
func TestCartEventNamesTheCustomer(t *testing.T) {
	for _, key := range []string{"user_id:sara", "anonymous_id:a1", "email:sara@example.fr", "loyalty_id:L-7", "phone:+33612345678", "store_customer_id:C9"} {
		e := commerce.CartEvent(&commerce.Cart{Customer: key, Version: 1, UpdatedAt: t0}, "web", t0)
		var found []string
		for _, raw := range identity.Extract(e) {
			found = append(found, string(raw.Kind)+":"+raw.Value)
		}
		if !slices.Contains(found, key) {
			t.Errorf("Cart Updated of %s carries %v", key, found)
		}
	}
}
