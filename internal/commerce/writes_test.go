package commerce_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
)

// memRows is an engine reduced to rows in maps: no SQL, no rule. That
// Writes runs on it shows where the rules live; the conformance suite
// (storetest) runs the same rules on the real engines.
type memRows struct {
	holdFirst bool
	stock     map[string]commerce.StockLevel
	res       map[string]commerce.Reservation
	adj       map[string][]byte // key → detail
	outbox    []string
	calls     []string // row operations, in order
}

func newMem(holdFirst bool) *memRows {
	return &memRows{holdFirst: holdFirst, stock: map[string]commerce.StockLevel{}, res: map[string]commerce.Reservation{}, adj: map[string][]byte{}}
}

// CommerceTx runs fn on a copy of the rows, kept only if fn succeeds.
func (m *memRows) CommerceTx(ctx context.Context, _ string, fn func(context.Context, commerce.Tx) error) error {
	tx := &memRows{holdFirst: m.holdFirst, stock: maps.Clone(m.stock), res: maps.Clone(m.res), adj: maps.Clone(m.adj),
		outbox: slices.Clone(m.outbox)}
	if err := fn(ctx, tx); err != nil {
		m.calls = append(m.calls, tx.calls...)
		return err
	}
	tx.calls = append(m.calls, tx.calls...)
	*m = *tx
	return nil
}

func (m *memRows) SharedCommerceTx(ctx context.Context, what string, fn func(context.Context, commerce.Tx) error) error {
	return m.CommerceTx(ctx, what, fn)
}

func (m *memRows) LockStock(_ context.Context, sku, loc string, _ bool, _ time.Time) (commerce.StockLevel, bool, error) {
	m.calls = append(m.calls, "LockStock")
	l, ok := m.stock[sku+"@"+loc]
	return l, ok, nil
}

func (m *memRows) WriteStock(_ context.Context, l commerce.StockLevel) error {
	m.calls = append(m.calls, "WriteStock")
	m.stock[l.SKU+"@"+l.Location] = l
	return nil
}

func (m *memRows) HoldStock(_ context.Context, sku, loc string, qty int64, at time.Time) (commerce.StockLevel, bool, error) {
	m.calls = append(m.calls, "HoldStock")
	l, ok := m.stock[sku+"@"+loc]
	if !ok || l.Available() < qty {
		return commerce.StockLevel{}, false, nil
	}
	l.Reserved, l.Version, l.UpdatedAt = l.Reserved+qty, l.Version+1, at
	m.stock[sku+"@"+loc] = l
	return l, true, nil
}

func (m *memRows) StockRow(_ context.Context, sku, loc string) (commerce.StockLevel, bool, error) {
	l, ok := m.stock[sku+"@"+loc]
	return l, ok, nil
}

func (m *memRows) ClaimAdjustment(_ context.Context, a commerce.Adjustment) (string, bool, error) {
	_, taken := m.adj[a.Key]
	return "", taken, nil
}

func (m *memRows) RecordAdjustment(_ context.Context, a commerce.Adjustment, detail []byte) error {
	m.adj[a.Key] = detail
	return nil
}

func (m *memRows) HoldsFirst() bool { return m.holdFirst }

func (m *memRows) InsertReservation(_ context.Context, r *commerce.Reservation) error {
	m.calls = append(m.calls, "InsertReservation")
	if _, dup := m.res[r.ID]; dup {
		return commerce.ErrConflict
	}
	c := *r
	c.Status = commerce.ReservationActive
	m.res[r.ID] = c
	return nil
}

func (m *memRows) Reservation(_ context.Context, id string) (*commerce.Reservation, error) {
	r, ok := m.res[id]
	if !ok {
		return nil, commerce.ErrNotFound
	}
	return &r, nil
}

func (m *memRows) EndReservation(_ context.Context, id, status string, at time.Time) error {
	r, ok := m.res[id]
	if !ok || r.Status != commerce.ReservationActive {
		return commerce.ErrConflict
	}
	r.Status, r.EndedAt = status, at
	m.res[id] = r
	return nil
}

func (m *memRows) DueReservations(_ context.Context, now time.Time, _ int) ([]*commerce.Reservation, error) {
	var out []*commerce.Reservation
	for _, r := range m.res {
		if r.Status == commerce.ReservationActive && !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(now) {
			out = append(out, &r)
		}
	}
	return out, nil
}

func (m *memRows) OrderReservations(_ context.Context, orderID string) ([]*commerce.Reservation, error) {
	var out []*commerce.Reservation
	for _, r := range m.res {
		if r.OrderID == orderID && r.Status == commerce.ReservationActive {
			out = append(out, &r)
		}
	}
	commerce.SortReservations(out)
	return out, nil
}

func (m *memRows) InsertOrder(context.Context, *commerce.Order) error        { return nil }
func (m *memRows) UpdateOrder(context.Context, *commerce.Order, int64) error { return nil }
func (m *memRows) InsertReturn(context.Context, *commerce.Return) error      { return nil }
func (m *memRows) LockCart(context.Context, string) (*commerce.Cart, error) {
	return nil, commerce.ErrNotFound
}
func (m *memRows) WriteCart(context.Context, *commerce.Cart, int64) error { return nil }
func (m *memRows) DeleteCart(context.Context, string) error               { return nil }
func (m *memRows) InsertKey(context.Context, *commerce.IdempotencyKey, string, time.Time) error {
	return nil
}

func (m *memRows) WriteOutbox(_ context.Context, evs []*event.Event) error {
	for _, e := range evs {
		m.outbox = append(m.outbox, e.Event)
	}
	return nil
}

var at = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)

// TestWritesRulesOverRows runs the stock rules on rows alone: a till sale
// larger than the free stock clamps at what is reserved and records the
// shortfall; consuming a reservation takes it out of on hand, releasing
// one gives it back; a key applied twice changes nothing.
func TestWritesRulesOverRows(t *testing.T) {
	ctx := context.Background()
	m := newMem(true)
	w := commerce.Writes{Store: m}
	if _, err := w.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 10}}, at, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"r1", "r2"} {
		if _, err := w.Reserve(ctx, []*commerce.Reservation{{ID: id, SKU: "A", Location: "lyon", Quantity: 3, CreatedAt: at}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, cs, err := w.EndReservation(ctx, "r1", commerce.ReservationConsumed, at, nil); err != nil || cs[0].After.OnHand != 7 || cs[0].After.Reserved != 3 {
		t.Fatalf("consume r1: %+v, %v; want on hand 7, reserved 3", cs, err)
	}
	sale := commerce.Adjustment{Key: "pos-1", Deltas: []commerce.Delta{{SKU: "A", Location: "lyon", OnHand: -9}}, Clamp: true, At: at}
	cs, applied, err := w.AdjustStock(ctx, sale, nil)
	if err != nil || !applied || cs[0].After.OnHand != 3 {
		t.Fatalf("till sale of 9 from 7 with 3 reserved: %+v, %v, %v; want on hand clamped at 3", cs, applied, err)
	}
	var detail struct{ Shortfall map[string]int64 }
	if err := json.Unmarshal(m.adj["pos-1"], &detail); err != nil || detail.Shortfall["A@lyon"] != 5 {
		t.Fatalf("recorded detail %s: want a shortfall of 5 at A@lyon", m.adj["pos-1"])
	}
	if _, applied, err := w.AdjustStock(ctx, sale, nil); err != nil || applied {
		t.Fatalf("same key again: applied %v, %v; want nothing applied", applied, err)
	}
	if _, cs, err := w.EndReservation(ctx, "r2", commerce.ReservationReleased, at, nil); err != nil || cs[0].After.OnHand != 3 || cs[0].After.Reserved != 0 {
		t.Fatalf("release r2: %+v, %v; want on hand 3, nothing reserved", cs, err)
	}
	if _, _, err := w.EndReservation(ctx, "r2", commerce.ReservationReleased, at, nil); !errors.Is(err, commerce.ErrConflict) {
		t.Fatalf("release r2 twice: %v; want ErrConflict", err)
	}
}

// TestReserveInTheEnginesOrder: the rule writes a reservation in the
// order the engine asks for, and a refused one leaves no row and no event
// either way.
func TestReserveInTheEnginesOrder(t *testing.T) {
	ctx := context.Background()
	evs := func(e commerce.Effect) []*event.Event { return []*event.Event{{Event: "Product Reserved"}} }
	for _, holdFirst := range []bool{true, false} {
		m := newMem(holdFirst)
		w := commerce.Writes{Store: m}
		if _, err := w.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 1}}, at, nil); err != nil {
			t.Fatal(err)
		}
		m.calls = nil
		if _, err := w.Reserve(ctx, []*commerce.Reservation{{ID: "r1", SKU: "A", Location: "lyon", Quantity: 1, CreatedAt: at}}, evs); err != nil {
			t.Fatal(err)
		}
		want := []string{"InsertReservation", "HoldStock"}
		if holdFirst {
			want = []string{"HoldStock", "InsertReservation"}
		}
		if !slices.Equal(m.calls, want) {
			t.Errorf("HoldsFirst %v: row operations %v, want %v", holdFirst, m.calls, want)
		}
		var ie *commerce.InsufficientStockError
		if _, err := w.Reserve(ctx, []*commerce.Reservation{{ID: "r2", SKU: "A", Location: "lyon", Quantity: 1, CreatedAt: at}}, evs); !errors.As(err, &ie) || ie.Available != 0 {
			t.Fatalf("HoldsFirst %v: second reservation of the last unit: %v; want insufficient stock, 0 available", holdFirst, err)
		}
		if _, kept := m.res["r2"]; kept || len(m.outbox) != 1 {
			t.Errorf("HoldsFirst %v: a refused reservation left its row (%v) or events (%d in the outbox)", holdFirst, kept, len(m.outbox))
		}
	}
}
