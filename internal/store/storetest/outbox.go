package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
)

// outboxEvent is an event as commerce writes them; broken ones cannot be
// encoded (invalid JSON properties), which fails the write after the
// change was made.
func outboxEvent(id string, broken bool) *event.Event {
	props := json.RawMessage(`{"id":"` + id + `","n":1}`)
	if broken {
		props = json.RawMessage(`{"id":`)
	}
	return &event.Event{MessageID: id, Type: event.Track, Event: "Test " + id, UserID: "u1", Properties: props,
		Timestamp: t0, ReceivedAt: t0.Add(time.Second), SourceID: commerce.SourceID, Channel: "internal"}
}

// recorder is an Events that returns one event named id and keeps the
// Effect it was given.
type recorder struct {
	mu      sync.Mutex
	effects []commerce.Effect
}

func (r *recorder) events(id string, broken bool) commerce.Events {
	return func(e commerce.Effect) []*event.Event {
		r.mu.Lock()
		r.effects = append(r.effects, e)
		r.mu.Unlock()
		return []*event.Event{outboxEvent(id, broken)}
	}
}

func outboxIDs(t *testing.T, s commerceStore) []string {
	t.Helper()
	es, err := s.Outbox(context.Background(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, e := range es {
		if i > 0 && e.Seq <= es[i-1].Seq {
			t.Fatalf("outbox not in seq order: %d after %d", e.Seq, es[i-1].Seq)
		}
		ids = append(ids, e.Event.MessageID)
	}
	return ids
}

// testOutboxCommitsWithChange checks every write that changes state: its
// events are in the outbox when it committed, and neither the change nor
// the events are when it failed, whether the change itself failed or the
// events could not be written.
func testOutboxCommitsWithChange(t *testing.T, s commerceStore) {
	ctx := context.Background()
	var rec recorder
	ev := rec.events
	if _, err := s.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 5}}, t0, ev("set-bad", true)); err == nil {
		t.Fatal("SetStock with an unwritable event succeeded")
	}
	if rows, err := s.StockOf(ctx, "A"); err != nil || len(rows) != 0 {
		t.Fatalf("SetStock whose events failed changed stock: %+v, %v", rows, err)
	}
	if _, err := s.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 5}, {SKU: "B", Location: "lyon", OnHand: 5}}, t0, ev("set", false)); err != nil {
		t.Fatal(err)
	}
	if e := rec.effects[len(rec.effects)-1]; len(e.Changes) != 2 || e.Changes[0].After.SKU != "A" || e.Changes[1].After.OnHand != 5 {
		t.Fatalf("SetStock's Effect = %+v", e)
	}
	adj := commerce.Adjustment{Key: "k1", At: t0, Deltas: []commerce.Delta{{SKU: "A", Location: "lyon", OnHand: 1}}}
	if _, _, err := s.AdjustStock(ctx, adj, ev("adjust-bad", true)); err == nil {
		t.Fatal("AdjustStock with an unwritable event succeeded")
	}
	if _, applied, err := s.AdjustStock(ctx, adj, ev("adjust", false)); err != nil || !applied {
		t.Fatalf("AdjustStock after a rolled back attempt = %v, %v: the key must not have been kept", applied, err)
	}
	if _, applied, err := s.AdjustStock(ctx, adj, ev("adjust-again", false)); err != nil || applied {
		t.Fatalf("AdjustStock again = %v, %v", applied, err)
	}
	res := func(id, sku string, q int64) []*commerce.Reservation {
		return []*commerce.Reservation{{ID: id, SKU: sku, Location: "lyon", Quantity: q, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}}
	}
	if _, err := s.Reserve(ctx, append(res("r-short-a", "A", 1), res("r-short-b", "B", 9)...), ev("reserve-short", false)); err == nil {
		t.Fatal("Reserve beyond stock succeeded")
	}
	if _, err := s.Reserve(ctx, res("r-bad", "A", 1), ev("reserve-bad", true)); err == nil {
		t.Fatal("Reserve with an unwritable event succeeded")
	}
	if l := level(t, s, "A", "lyon"); l.Reserved != 0 || l.OnHand != 6 {
		t.Fatalf("failed reservations held stock: %+v", l)
	}
	if _, err := s.Reserve(ctx, res("r1", "A", 1), ev("reserve", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EndReservation(ctx, "r1", commerce.ReservationReleased, t0, ev("release-bad", true)); err == nil {
		t.Fatal("EndReservation with an unwritable event succeeded")
	}
	if _, _, err := s.EndReservation(ctx, "r1", commerce.ReservationReleased, t0, ev("release", false)); err != nil {
		t.Fatal(err)
	}
	if e := rec.effects[len(rec.effects)-1]; len(e.Reservations) != 1 || e.Reservations[0].Status != commerce.ReservationReleased || e.Changes[0].After.Reserved != 0 {
		t.Fatalf("EndReservation's Effect = %+v", e)
	}
	if _, err := s.Reserve(ctx, res("r2", "B", 1), nil); err != nil {
		t.Fatal(err)
	}
	if rs, _, err := s.ExpireReservations(ctx, t0.Add(2*time.Hour), 10, ev("expire-bad", true)); err == nil {
		t.Fatalf("ExpireReservations with an unwritable event = %v", rs)
	}
	if rs, _, err := s.ExpireReservations(ctx, t0.Add(2*time.Hour), 10, ev("expire", false)); err != nil || len(rs) != 1 {
		t.Fatalf("ExpireReservations = %v, %v", rs, err)
	}
	if _, _, err := s.ExpireReservations(ctx, t0.Add(2*time.Hour), 10, ev("expire-none", false)); err != nil {
		t.Fatal(err)
	}

	o := &commerce.Order{ID: "o1", Channel: "web", Fulfilment: commerce.ClickCollect, Location: "lyon", Status: commerce.Placed, Version: 1,
		Customer: commerce.Customer{UserID: "u1"}, CreatedAt: t0, UpdatedAt: t0, Lines: []commerce.Line{{SKU: "A", Quantity: 1}}, Total: 10}
	ors := []*commerce.Reservation{{ID: "o1-A", SKU: "A", Location: "lyon", Quantity: 1, OrderID: "o1", CreatedAt: t0}}
	if _, err := s.CreateOrder(ctx, o, ors, ev("place-bad", true)); err == nil {
		t.Fatal("CreateOrder with an unwritable event succeeded")
	}
	if _, err := s.Order(ctx, "o1"); err == nil {
		t.Fatal("the order exists though its events were not written")
	}
	if _, err := s.CreateOrder(ctx, o, ors, ev("place", false)); err != nil {
		t.Fatal(err)
	}
	o.Status, o.Version = commerce.Collected, 2
	if _, err := s.UpdateOrder(ctx, o, 1, commerce.Consume, ev("collect-bad", true)); err == nil {
		t.Fatal("UpdateOrder with an unwritable event succeeded")
	}
	if got, _ := s.Order(ctx, "o1"); got.Status != commerce.Placed {
		t.Fatalf("the order moved though its events were not written: %s", got.Status)
	}
	if _, err := s.UpdateOrder(ctx, o, 5, commerce.Consume, ev("collect-stale", false)); err == nil {
		t.Fatal("a stale UpdateOrder succeeded")
	}
	if _, err := s.UpdateOrder(ctx, o, 1, commerce.Consume, ev("collect", false)); err != nil {
		t.Fatal(err)
	}
	o.Version, o.Lines[0].Returned = 3, 1
	r := &commerce.Return{ID: "ret1", OrderID: "o1", Location: "lyon", Channel: "store", CreatedAt: t0,
		Lines: []commerce.ReturnLine{{SKU: "A", Quantity: 1, Condition: commerce.Sellable}}}
	if _, err := s.RecordReturn(ctx, r, o, 2, ev("return-bad", true)); err == nil {
		t.Fatal("RecordReturn with an unwritable event succeeded")
	}
	if _, err := s.RecordReturn(ctx, r, o, 2, ev("return", false)); err != nil {
		t.Fatal(err)
	}

	c := &commerce.Cart{Customer: "anonymous_id:a1", Items: []commerce.CartItem{{SKU: "A", Quantity: 1, UpdatedAt: t0}}, UpdatedAt: t0}
	if err := s.SaveCart(ctx, c, ev("cart-bad", true)); err == nil || c.Version != 0 {
		t.Fatalf("SaveCart with an unwritable event = %v, version %d", err, c.Version)
	}
	if err := s.SaveCart(ctx, c, ev("cart", false)); err != nil || c.Version != 1 {
		t.Fatalf("SaveCart = %v, version %d", err, c.Version)
	}
	merge := func(into, from *commerce.Cart) *commerce.Cart { return commerce.MergeCarts(into, from, t0) }
	if _, _, err := s.MergeCart(ctx, "anonymous_id:a1", "user_id:u1", merge, ev("merge-bad", true)); err == nil {
		t.Fatal("MergeCart with an unwritable event succeeded")
	}
	if c, _ := s.Cart(ctx, "anonymous_id:a1"); c.Version != 1 {
		t.Fatalf("the anonymous cart is gone though the merge's events were not written: %+v", c)
	}
	if m, merged, err := s.MergeCart(ctx, "anonymous_id:a1", "user_id:u1", merge, ev("merge", false)); err != nil || !merged {
		t.Fatalf("MergeCart = %v, %v", merged, err)
	} else if e := rec.effects[len(rec.effects)-1]; e.Cart == nil || e.Cart.Customer != "user_id:u1" || e.Cart.Version != m.Version {
		t.Fatalf("MergeCart's Effect = %+v", e)
	}
	if _, merged, err := s.MergeCart(ctx, "anonymous_id:a1", "user_id:u1", merge, ev("merge-none", false)); err != nil || merged {
		t.Fatalf("MergeCart of no cart = %v, %v", merged, err)
	}

	want := []string{"set", "adjust", "reserve", "release", "expire", "place", "collect", "return", "cart", "merge"}
	if got := outboxIDs(t, s); !slices.Equal(got, want) {
		t.Fatalf("outbox = %v\nwant     %v", got, want)
	}
}

// testOutboxReadAndDelete checks that an event comes back as written, in
// seq order, and that deleting removes only the seqs named.
func testOutboxReadAndDelete(t *testing.T, s commerceStore) {
	ctx := context.Background()
	setStock(t, s, "A", "lyon", 100, 0)
	for i := range 5 {
		id := fmt.Sprintf("e%d", i)
		if _, err := s.Reserve(ctx, []*commerce.Reservation{{ID: id, SKU: "A", Location: "lyon", Quantity: 1, CreatedAt: t0}},
			func(commerce.Effect) []*event.Event { return []*event.Event{outboxEvent(id, false)} }); err != nil {
			t.Fatal(err)
		}
	}
	es, err := s.Outbox(ctx, 3)
	if err != nil || len(es) != 3 {
		t.Fatalf("Outbox(3) = %d entries, %v", len(es), err)
	}
	want := outboxEvent("e0", false)
	got := es[0].Event
	if got.MessageID != want.MessageID || got.Event != want.Event || got.UserID != "u1" || string(got.Properties) != string(want.Properties) ||
		!got.Timestamp.Equal(want.Timestamp) || !got.ReceivedAt.Equal(want.ReceivedAt) || got.SourceID != want.SourceID || got.Channel != want.Channel {
		t.Fatalf("outbox entry = %+v, want %+v", got, want)
	}
	if !es[0].CreatedAt.Equal(want.ReceivedAt) {
		t.Fatalf("CreatedAt = %v, want the event's ReceivedAt %v", es[0].CreatedAt, want.ReceivedAt)
	}
	if err := s.DeleteOutbox(ctx, []int64{es[0].Seq, es[2].Seq, es[2].Seq + 1000}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOutbox(ctx, []int64{es[0].Seq}); err != nil {
		t.Fatalf("deleting a seq gone already: %v", err)
	}
	if got := outboxIDs(t, s); !slices.Equal(got, []string{"e1", "e3", "e4"}) {
		t.Fatalf("outbox after delete = %v", got)
	}
}

// testOutboxConcurrentReservations fires 200 concurrent reservations at
// 50 units, a tenth of them with events that cannot be written: on SQLite
// they share transactions, one savepoint each. The outbox must hold the
// events of exactly the reservations that hold stock, whatever the
// savepoints around them did.
func testOutboxConcurrentReservations(t *testing.T, s commerceStore) {
	ctx := context.Background()
	setStock(t, s, "HOT", "lyon", 50, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held []string
	start := make(chan struct{})
	for i := range 200 {
		wg.Go(func() {
			id := fmt.Sprintf("r%03d", i)
			<-start
			_, err := s.Reserve(ctx, []*commerce.Reservation{{ID: id, SKU: "HOT", Location: "lyon", Quantity: 1, CreatedAt: t0}},
				func(commerce.Effect) []*event.Event { return []*event.Event{outboxEvent(id, i%10 == 0)} })
			var ie *commerce.InsufficientStockError
			switch {
			case err == nil:
				mu.Lock()
				held = append(held, id)
				mu.Unlock()
			case errors.As(err, &ie), i%10 == 0:
			default:
				t.Errorf("reservation %s: %v", id, err)
			}
		})
	}
	close(start)
	wg.Wait()
	got := outboxIDs(t, s)
	slices.Sort(got)
	slices.Sort(held)
	if len(held) != 50 || !slices.Equal(got, held) {
		t.Fatalf("%d reservations hold stock, the outbox has %d events:\nheld   %v\noutbox %v", len(held), len(got), held, got)
	}
	for _, id := range held {
		if r, err := s.Reservation(ctx, id); err != nil || r.Status != commerce.ReservationActive {
			t.Fatalf("reservation %s: %+v, %v", id, r, err)
		}
	}
	if l := level(t, s, "HOT", "lyon"); l.Reserved != 50 {
		t.Fatalf("after the rush: %+v", l)
	}
}
