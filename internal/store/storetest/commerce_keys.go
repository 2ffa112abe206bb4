package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
)

// reused checks that err refuses a key used for another request.
func reused(t *testing.T, err error, scope, key string) {
	t.Helper()
	var ke *commerce.KeyReuseError
	if !errors.As(err, &ke) || ke.Scope != scope || ke.Key != key {
		t.Fatalf("want the %s key %q refused as reused, got %T %v", scope, key, err, err)
	}
}

// testReservationKeys: a reservation's idempotency key is stored with it,
// so that a retry, even through a service that never saw the first
// request (a restarted server after kill -9, the first answer lost),
// returns the reservation the key made instead of holding stock twice;
// the key with another request is refused; concurrent requests with one
// key make one reservation (issue 14.6).
func testReservationKeys(t *testing.T, s commerceStore) {
	ctx := context.Background()
	first := service(t, s)
	if _, err := first.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 10}}); err != nil {
		t.Fatal(err)
	}
	req := commerce.ReserveRequest{SKU: "A", Location: "lyon", Quantity: 2, Customer: commerce.Customer{UserID: "u1"}, TTL: time.Hour, Key: "k-1"}
	r1, replayed, err := first.ReserveOnce(ctx, req)
	if err != nil || replayed {
		t.Fatalf("first reservation: %v, replayed %v", err, replayed)
	}
	// A new service over the same store: nothing in memory.
	again := commerce.New(s, commerce.Options{Clock: clock.NewFake(t0)})
	r2, replayed, err := again.ReserveOnce(ctx, req)
	if err != nil || !replayed || r2.ID != r1.ID || r2.Quantity != 2 {
		t.Fatalf("retry: %+v, replayed %v, %v; want %s replayed", r2, replayed, err, r1.ID)
	}
	if l := level(t, s, "A", "lyon"); l.Reserved != 2 {
		t.Fatalf("reserved %d after a retry, want 2", l.Reserved)
	}
	other := req
	other.Quantity = 3
	_, _, err = again.ReserveOnce(ctx, other)
	reused(t, err, commerce.ScopeReservation, "k-1")
	// A released reservation is still what its key made.
	if _, err := again.Release(ctx, r1.ID); err != nil {
		t.Fatal(err)
	}
	if r3, replayed, err := again.ReserveOnce(ctx, req); err != nil || !replayed || r3.Status != commerce.ReservationReleased {
		t.Fatalf("retry after release: %+v, %v, %v", r3, replayed, err)
	}
	// Ten concurrent requests with one key: one reservation, one answer.
	ids := make([]string, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			r, _, err := again.ReserveOnce(ctx, commerce.ReserveRequest{SKU: "A", Location: "lyon", Quantity: 1, Key: "k-race"})
			if err != nil {
				t.Errorf("concurrent request %d: %v", i, err)
				return
			}
			ids[i] = r.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("one key made several reservations: %v", ids)
		}
	}
	if l := level(t, s, "A", "lyon"); l.Reserved != 1 {
		t.Fatalf("reserved %d after ten requests with one key, want 1", l.Reserved)
	}
	// Keys are per kind of request: an order may use the same one.
	if _, err := s.IdempotencyKey(ctx, commerce.ScopeOrder, "k-1"); !errors.Is(err, commerce.ErrNotFound) {
		t.Fatalf("an order key k-1: %v", err)
	}
}

// testOrderAndReturnKeys: orders and returns keyed the same way; a
// return retried is not restocked nor refunded twice.
func testOrderAndReturnKeys(t *testing.T, s commerceStore) {
	ctx := context.Background()
	svc := service(t, s)
	if err := svc.UpsertLocations(ctx, []*commerce.Location{{ID: "lyon", Name: "Lyon", Lat: 45.76, Lon: 4.83, TimeZone: "Europe/Paris",
		Capabilities: []string{commerce.CapReturns}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 10}}); err != nil {
		t.Fatal(err)
	}
	order := func(qty int64) *commerce.Order {
		return &commerce.Order{Channel: "web", Fulfilment: commerce.Ship, Location: "lyon", Currency: "EUR",
			Customer: commerce.Customer{UserID: "u1"}, Lines: []commerce.Line{{SKU: "A", Quantity: qty}}}
	}
	o1, replayed, err := svc.PlaceOrderOnce(ctx, "order-k", order(2))
	if err != nil || replayed {
		t.Fatalf("order: %v, %v", err, replayed)
	}
	o2, replayed, err := commerce.New(s, commerce.Options{Clock: clock.NewFake(t0)}).PlaceOrderOnce(ctx, "order-k", order(2))
	if err != nil || !replayed || o2.ID != o1.ID {
		t.Fatalf("order retried: %+v, %v, %v", o2, replayed, err)
	}
	_, _, err = svc.PlaceOrderOnce(ctx, "order-k", order(3))
	reused(t, err, commerce.ScopeOrder, "order-k")
	if l := level(t, s, "A", "lyon"); l.Reserved != 2 {
		t.Fatalf("reserved %d, want 2: one order", l.Reserved)
	}
	for _, to := range []commerce.Status{commerce.Confirmed, commerce.Shipped, commerce.Delivered} {
		if _, err := svc.Transition(ctx, o1.ID, to, ""); err != nil {
			t.Fatal(err)
		}
	}
	ret := func(qty int64) *commerce.Return {
		return &commerce.Return{OrderID: o1.ID, Location: "lyon", Lines: []commerce.ReturnLine{{SKU: "A", Quantity: qty}}}
	}
	r1, replayed, err := svc.RecordReturnOnce(ctx, "return-k", ret(1))
	if err != nil || replayed {
		t.Fatalf("return: %v, %v", err, replayed)
	}
	r2, replayed, err := svc.RecordReturnOnce(ctx, "return-k", ret(1))
	if err != nil || !replayed || r2.ID != r1.ID {
		t.Fatalf("return retried: %+v, %v, %v", r2, replayed, err)
	}
	_, _, err = svc.RecordReturnOnce(ctx, "return-k", ret(2))
	reused(t, err, commerce.ScopeReturn, "return-k")
	if l := level(t, s, "A", "lyon"); l.OnHand != 9 {
		t.Fatalf("on hand %d after the return and its retry, want 9 (10 - 2 shipped + 1 back)", l.OnHand)
	}
	if rets, _ := s.Returns(ctx, o1.ID); len(rets) != 1 {
		t.Fatalf("%d returns recorded, want 1", len(rets))
	}
}

// testAdjustmentKeys: an adjustment's key sent again with the same
// request changes nothing and answers the rows as they are; with other
// deltas it is refused instead of silently ignored.
func testAdjustmentKeys(t *testing.T, s commerceStore) {
	ctx := context.Background()
	svc := service(t, s)
	deltas := []commerce.Delta{{SKU: "A", Location: "lyon", OnHand: 4}}
	if _, applied, err := svc.AdjustStock(ctx, "adj-k", "count", deltas); err != nil || !applied {
		t.Fatalf("adjustment: %v, %v", applied, err)
	}
	ch, applied, err := svc.AdjustStock(ctx, "adj-k", "count", deltas)
	if err != nil || applied || len(ch) != 1 || ch[0].After.OnHand != 4 {
		t.Fatalf("retry: %+v, %v, %v", ch, applied, err)
	}
	_, _, err = svc.AdjustStock(ctx, "adj-k", "count", []commerce.Delta{{SKU: "A", Location: "lyon", OnHand: 40}})
	reused(t, err, commerce.ScopeAdjustment, "adj-k")
	if l := level(t, s, "A", "lyon"); l.OnHand != 4 {
		t.Fatalf("on hand %d, want 4", l.OnHand)
	}
	// Keys applied without a fingerprint (till sales, adjustments made
	// before fingerprints) are never refused: there is nothing to compare.
	if _, _, err := s.AdjustStock(ctx, commerce.Adjustment{Key: "pos-1", At: t0, Clamp: true, Deltas: []commerce.Delta{{SKU: "A", Location: "lyon", OnHand: -1}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, applied, err := svc.AdjustStock(ctx, "pos-1", "", deltas); err != nil || applied {
		t.Fatalf("an old key: %v, %v", applied, err)
	}
}
