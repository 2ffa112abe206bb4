package commerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Writes applies the commerce rules to a store: every change of stock,
// reservations, orders, returns and carts is computed here, once, and
// written through the store's row operations in one of its transactions,
// together with the change's events (the outbox). The Service writes
// through it; so can a test or a tool that needs a change without the
// Service's checks.
type Writes struct {
	Store Transactor
}

// SetStock sets on hand and safety of rows (an import, a count),
// creating them; reserved is kept. A row set below its reservations is
// refused with a *StockConstraintError.
func (w Writes) SetStock(ctx context.Context, levels []StockLevel, at time.Time, evs Events) ([]StockChange, error) {
	levels = slices.Clone(levels)
	SortLevels(levels)
	var out []StockChange
	err := w.Store.CommerceTx(ctx, "set stock", func(ctx context.Context, tx Tx) error {
		out = out[:0]
		for _, l := range levels {
			c, err := changeStock(ctx, tx, l.SKU, l.Location, at, true, func(r *StockLevel) error {
				r.OnHand, r.Safety = l.OnHand, l.Safety
				return nil
			})
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return writeOutbox(ctx, tx, evs, Effect{Changes: out})
	})
	return out, err
}

// AdjustStock applies a keyed adjustment. applied is false, and nothing
// changes, when the key was applied before (with another fingerprint,
// when both have one: a *KeyReuseError). A decrement creates no row
// unless it clamps; with Clamp, what a decrement could not take (the
// shortfall) is recorded with the adjustment.
func (w Writes) AdjustStock(ctx context.Context, a Adjustment, evs Events) (changes []StockChange, applied bool, err error) {
	deltas := slices.Clone(a.Deltas)
	SortDeltas(deltas)
	err = w.Store.CommerceTx(ctx, "adjust stock "+a.Key, func(ctx context.Context, tx Tx) error {
		changes, applied = changes[:0], false
		prior, taken, err := tx.ClaimAdjustment(ctx, a)
		if err != nil {
			return err
		}
		if taken {
			return checkAdjustmentKey(a, prior)
		}
		shortfall := map[string]int64{}
		for _, d := range deltas {
			c, err := changeStock(ctx, tx, d.SKU, d.Location, a.At, d.OnHand > 0 || a.Clamp, func(r *StockLevel) error {
				short, err := r.ApplyDelta(d.OnHand, a.Clamp)
				if short > 0 {
					shortfall[d.SKU+"@"+d.Location] = short
				}
				return err
			})
			if err != nil {
				return err
			}
			changes = append(changes, c)
		}
		detail, _ := json.Marshal(map[string]any{"deltas": deltas, "shortfall": shortfall}) // plain values always encode
		if err := tx.RecordAdjustment(ctx, a, detail); err != nil {
			return err
		}
		applied = true
		return writeOutbox(ctx, tx, evs, Effect{Changes: changes})
	})
	return changes, applied, err
}

// Reserve holds stock for every reservation, all or none, with the
// reservations' ids already set, and stores their idempotency keys (a
// key already stored fails the call with ErrConflict). It fails with
// *InsufficientStockError when a location has less available than asked.
func (w Writes) Reserve(ctx context.Context, rs []*Reservation, evs Events) ([]StockChange, error) {
	var out []StockChange
	err := w.Store.SharedCommerceTx(ctx, "reserve", func(ctx context.Context, tx Tx) (err error) {
		if out, err = reserveAll(ctx, tx, rs); err != nil {
			return err
		}
		return writeOutbox(ctx, tx, evs, Effect{Changes: out})
	})
	return out, err
}

// EndReservation releases (or consumes) an active reservation.
func (w Writes) EndReservation(ctx context.Context, id, status string, at time.Time, evs Events) (*Reservation, []StockChange, error) {
	var r *Reservation
	var c StockChange
	err := w.Store.CommerceTx(ctx, "end reservation "+id, func(ctx context.Context, tx Tx) (err error) {
		if r, err = tx.Reservation(ctx, id); err != nil {
			return err
		}
		if c, err = endReservation(ctx, tx, r, status, at); err != nil {
			return err
		}
		return writeOutbox(ctx, tx, evs, Effect{Changes: []StockChange{c}, Reservations: []*Reservation{r}})
	})
	if err != nil {
		return nil, nil, err
	}
	return r, []StockChange{c}, nil
}

// ExpireReservations releases up to limit active reservations whose
// expiry is at or before now.
func (w Writes) ExpireReservations(ctx context.Context, now time.Time, limit int, evs Events) ([]*Reservation, []StockChange, error) {
	var rs []*Reservation
	var out []StockChange
	err := w.Store.CommerceTx(ctx, "expire reservations", func(ctx context.Context, tx Tx) (err error) {
		out = out[:0]
		if rs, err = tx.DueReservations(ctx, now, limit); err != nil {
			return err
		}
		SortReservations(rs)
		for _, r := range rs {
			c, err := endReservation(ctx, tx, r, ReservationExpired, now)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		if len(rs) == 0 {
			return nil
		}
		return writeOutbox(ctx, tx, evs, Effect{Changes: out, Reservations: rs})
	})
	return rs, out, err
}

// changeStock changes one stock row with fn, under the row's lock: the
// row is read, changed, checked against the stock table's constraint
// (CheckLevel) and written with its version bumped. A missing row is
// created when create is set, and refused otherwise.
func changeStock(ctx context.Context, tx Tx, sku, loc string, at time.Time, create bool, fn func(l *StockLevel) error) (StockChange, error) {
	before, found, err := tx.LockStock(ctx, sku, loc, create, at)
	if err != nil {
		return StockChange{}, fmt.Errorf("stock %s@%s: %w", sku, loc, err)
	}
	if !found {
		if !create {
			return StockChange{}, &StockConstraintError{SKU: sku, Location: loc, Reason: "not stocked there"}
		}
		before = StockLevel{SKU: sku, Location: loc}
	}
	after := before
	if err := fn(&after); err != nil {
		return StockChange{}, err
	}
	if err := CheckLevel(after); err != nil {
		return StockChange{}, err
	}
	after.Version, after.UpdatedAt = before.Version+1, at.UTC()
	if err := tx.WriteStock(ctx, after); err != nil {
		return StockChange{}, fmt.Errorf("stock %s@%s: %w", sku, loc, err)
	}
	return StockChange{Before: before, After: after}, nil
}

// reserve holds r's quantity and records r with its idempotency key, in
// the order the engine asks for (see ReservationRows.HoldsFirst).
func reserve(ctx context.Context, tx Tx, r *Reservation) (StockChange, error) {
	holdFirst := tx.HoldsFirst()
	if !holdFirst {
		if err := recordReservation(ctx, tx, r); err != nil {
			return StockChange{}, err
		}
	}
	after, held, err := tx.HoldStock(ctx, r.SKU, r.Location, r.Quantity, r.CreatedAt)
	if err != nil {
		return StockChange{}, fmt.Errorf("reserve %s@%s: %w", r.SKU, r.Location, err)
	}
	if !held {
		ie := &InsufficientStockError{SKU: r.SKU, Location: r.Location, Requested: r.Quantity, Available: -1}
		if l, found, err := tx.StockRow(ctx, r.SKU, r.Location); err == nil && found {
			ie.Available = max(0, l.Available())
		}
		return StockChange{}, ie
	}
	if holdFirst {
		if err := recordReservation(ctx, tx, r); err != nil {
			return StockChange{}, err
		}
	}
	after.SKU, after.Location, after.UpdatedAt = r.SKU, r.Location, r.CreatedAt.UTC()
	before := after
	before.Reserved -= r.Quantity
	before.Version--
	r.Status = ReservationActive
	return StockChange{Before: before, After: after}, nil
}

// recordReservation stores a new reservation and its idempotency key.
func recordReservation(ctx context.Context, tx Tx, r *Reservation) error {
	if err := tx.InsertReservation(ctx, r); err != nil {
		return fmt.Errorf("reservation %s: %w", r.ID, err)
	}
	return insertKey(ctx, tx, r.Idem, r.ID, r.CreatedAt)
}

// reserveAll reserves every r in lock order.
func reserveAll(ctx context.Context, tx Tx, rs []*Reservation) ([]StockChange, error) {
	rs = slices.Clone(rs)
	SortReservations(rs)
	var out []StockChange
	for _, r := range rs {
		c, err := reserve(ctx, tx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// endReservation ends one active reservation with status: released or
// expired give the units back to sale, consumed takes them out of on
// hand too (the goods left).
func endReservation(ctx context.Context, tx Tx, r *Reservation, status string, at time.Time) (StockChange, error) {
	if err := tx.EndReservation(ctx, r.ID, status, at); err != nil {
		if errors.Is(err, ErrConflict) {
			return StockChange{}, fmt.Errorf("reservation %s is no longer active: %w", r.ID, err)
		}
		return StockChange{}, err
	}
	r.Status, r.EndedAt = status, at.UTC()
	return changeStock(ctx, tx, r.SKU, r.Location, at, false, func(l *StockLevel) error {
		l.Unreserve(r.Quantity, status == ReservationConsumed)
		return nil
	})
}

// insertKey stores an idempotency key, if any, with what it created.
func insertKey(ctx context.Context, tx Tx, k *IdempotencyKey, id string, at time.Time) error {
	if k == nil {
		return nil
	}
	err := tx.InsertKey(ctx, k, id, at)
	switch {
	case errors.Is(err, ErrConflict):
		return fmt.Errorf("%s idempotency key %q: %w", k.Scope, k.Key, err)
	case err != nil:
		return fmt.Errorf("%s idempotency key: %w", k.Scope, err)
	}
	return nil
}

// writeOutbox writes the events of a change, as evs computes them from
// its effect, in the change's transaction. A nil evs writes nothing.
func writeOutbox(ctx context.Context, tx Tx, evs Events, eff Effect) error {
	if evs == nil {
		return nil
	}
	list := evs(eff)
	if len(list) == 0 {
		return nil
	}
	return tx.WriteOutbox(ctx, list)
}
