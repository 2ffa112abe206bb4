package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
)

// testSaveCarts: several carts are written in one transaction, with their
// events, all or none.
func testSaveCarts(t *testing.T, s commerceStore) {
	ctx := context.Background()
	old := &commerce.Cart{Customer: "user_id:b", Items: []commerce.CartItem{{SKU: "A", Quantity: 1, UpdatedAt: t0}}, UpdatedAt: t0}
	if err := s.SaveCart(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	evs := func(e commerce.Effect) []*event.Event {
		return []*event.Event{{MessageID: "carts-" + e.Cart.Customer, Type: event.Track, Event: "Cart Updated", Timestamp: t0, ReceivedAt: t0}}
	}
	// A stale version among them: nothing is written.
	fresh := &commerce.Cart{Customer: "user_id:a", Items: []commerce.CartItem{{SKU: "B", Quantity: 2, UpdatedAt: t0}}, UpdatedAt: t0}
	stale := &commerce.Cart{Customer: "user_id:b", Version: 0, UpdatedAt: t0.Add(time.Hour)}
	if err := s.SaveCarts(ctx, []*commerce.Cart{stale, fresh}, evs); !errors.Is(err, commerce.ErrConflict) || fresh.Version != 0 || stale.Version != 0 {
		t.Fatalf("SaveCarts with a stale cart = %v, versions %d %d", err, fresh.Version, stale.Version)
	}
	if c, _ := s.Cart(ctx, "user_id:a"); c.Version != 0 {
		t.Fatalf("a cart was written by a failed SaveCarts: %+v", c)
	}
	if es, _ := s.Outbox(ctx, 100); len(es) != 0 {
		t.Fatalf("a failed SaveCarts left events: %+v", es)
	}
	old.Items = append(old.Items, commerce.CartItem{SKU: "C", Quantity: 1, UpdatedAt: t0.Add(time.Hour)})
	if err := s.SaveCarts(ctx, []*commerce.Cart{old, fresh}, evs); err != nil || old.Version != 2 || fresh.Version != 1 {
		t.Fatalf("SaveCarts = %v, versions %d %d", err, old.Version, fresh.Version)
	}
	if c, _ := s.Cart(ctx, "user_id:b"); c.Version != 2 || len(c.Items) != 2 {
		t.Fatalf("cart b = %+v", c)
	}
	if es, _ := s.Outbox(ctx, 100); len(es) != 2 {
		t.Fatalf("SaveCarts events: %+v", es)
	}
}
