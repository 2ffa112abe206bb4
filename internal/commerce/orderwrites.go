package commerce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CreateOrder stores a new order and holds its reservations, all in one
// transaction: either the order exists with its stock held or nothing
// changed. Its idempotency key is stored with it (a key already stored
// fails the call with ErrConflict).
func (w Writes) CreateOrder(ctx context.Context, o *Order, rs []*Reservation, evs Events) ([]StockChange, error) {
	var out []StockChange
	err := w.Store.CommerceTx(ctx, "create order "+o.ID, func(ctx context.Context, tx Tx) (err error) {
		if err := tx.InsertOrder(ctx, o); err != nil {
			return fmt.Errorf("order %s: %w", o.ID, err)
		}
		if err := insertKey(ctx, tx, o.Idem, o.ID, o.CreatedAt); err != nil {
			return err
		}
		if out, err = reserveAll(ctx, tx, rs); err != nil {
			return err
		}
		return writeOutbox(ctx, tx, evs, Effect{Changes: out})
	})
	return out, err
}

// UpdateOrder writes o if its stored version is still prev (else
// ErrConflict) and applies effect to the order's active reservations:
// Consume consumes them, Release releases them, in lock order.
func (w Writes) UpdateOrder(ctx context.Context, o *Order, prev int64, effect StockEffect, evs Events) ([]StockChange, error) {
	var out []StockChange
	err := w.Store.CommerceTx(ctx, "update order "+o.ID, func(ctx context.Context, tx Tx) error {
		out = out[:0]
		if err := updateOrder(ctx, tx, o, prev); err != nil {
			return err
		}
		if effect == NoEffect {
			return writeOutbox(ctx, tx, evs, Effect{})
		}
		status := ReservationReleased
		if effect == Consume {
			status = ReservationConsumed
		}
		rs, err := tx.OrderReservations(ctx, o.ID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			c, err := endReservation(ctx, tx, r, status, o.UpdatedAt)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return writeOutbox(ctx, tx, evs, Effect{Changes: out, Reservations: rs})
	})
	return out, err
}

// RecordReturn stores r with its idempotency key, writes o (checked
// against prev like UpdateOrder) and puts the sellable lines back in
// stock at r's location.
func (w Writes) RecordReturn(ctx context.Context, r *Return, o *Order, prev int64, evs Events) ([]StockChange, error) {
	var out []StockChange
	err := w.Store.CommerceTx(ctx, "record return "+r.ID, func(ctx context.Context, tx Tx) error {
		out = out[:0]
		if err := updateOrder(ctx, tx, o, prev); err != nil {
			return err
		}
		if err := tx.InsertReturn(ctx, r); err != nil {
			return fmt.Errorf("return %s: %w", r.ID, err)
		}
		if err := insertKey(ctx, tx, r.Idem, r.ID, r.CreatedAt); err != nil {
			return err
		}
		for _, d := range r.RestockDeltas() {
			c, err := changeStock(ctx, tx, d.SKU, d.Location, r.CreatedAt, true, func(l *StockLevel) error {
				_, err := l.ApplyDelta(d.OnHand, false)
				return err
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

// updateOrder writes o if its stored version is still prev.
func updateOrder(ctx context.Context, tx Tx, o *Order, prev int64) error {
	err := tx.UpdateOrder(ctx, o, prev)
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("order %s changed since version %d: %w", o.ID, prev, err)
	}
	return err
}

// SaveCart writes c if its stored version is still c.Version (else
// ErrConflict), and increments c.Version.
func (w Writes) SaveCart(ctx context.Context, c *Cart, evs Events) error {
	prev := c.Version
	err := w.Store.CommerceTx(ctx, "save cart", func(ctx context.Context, tx Tx) error {
		if err := saveCart(ctx, tx, c); err != nil {
			return err
		}
		return writeOutbox(ctx, tx, evs, Effect{Cart: c})
	})
	if err != nil {
		c.Version = prev // nothing was written
	}
	return err
}

// SaveCarts writes several carts as SaveCart does, in one transaction
// (the log consumer's changes of a batch): all or none, ErrConflict if any
// version moved. evs is called once per cart. Carts are written in key
// order, the lock order of MergeCart.
func (w Writes) SaveCarts(ctx context.Context, cs []*Cart, evs Events) error {
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b *Cart) int { return strings.Compare(a.Customer, b.Customer) })
	prev := make([]int64, len(sorted))
	for i, c := range sorted {
		prev[i] = c.Version
	}
	err := w.Store.CommerceTx(ctx, "save carts", func(ctx context.Context, tx Tx) error {
		for _, c := range sorted {
			if err := saveCart(ctx, tx, c); err != nil {
				return err
			}
			if err := writeOutbox(ctx, tx, evs, Effect{Cart: c}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for i, c := range sorted {
			c.Version = prev[i] // nothing was written
		}
	}
	return err
}

// MergeCart folds the cart of from into the cart of into with merge, and
// deletes from's cart, in one transaction; both are locked first, in key
// order. merged is false when from had no cart.
func (w Writes) MergeCart(ctx context.Context, from, into string, merge func(into, from *Cart) *Cart, evs Events) (c *Cart, merged bool, err error) {
	err = w.Store.CommerceTx(ctx, "merge cart", func(ctx context.Context, tx Tx) error {
		c, merged = nil, false
		keys := []string{from, into}
		if into < from {
			keys = []string{into, from}
		}
		carts := map[string]*Cart{}
		for _, k := range keys {
			cart, err := lockCart(ctx, tx, k)
			if err != nil {
				return err
			}
			carts[k] = cart
		}
		src, dst := carts[from], carts[into]
		c = dst
		if src.Version == 0 {
			return nil
		}
		c = merge(dst, src)
		if err := saveCart(ctx, tx, c); err != nil {
			return err
		}
		if err := tx.DeleteCart(ctx, from); err != nil {
			return err
		}
		merged = true
		return writeOutbox(ctx, tx, evs, Effect{Cart: c})
	})
	return c, merged, err
}

// lockCart reads a customer's cart under its lock, an empty one (version
// 0) if none is stored.
func lockCart(ctx context.Context, tx Tx, customer string) (*Cart, error) {
	c, err := tx.LockCart(ctx, customer)
	if errors.Is(err, ErrNotFound) {
		return EmptyCart(customer), nil
	}
	return c, err
}

// saveCart writes c with its version incremented, if the stored version
// is still c's; c keeps its version when nothing was written.
func saveCart(ctx context.Context, tx Tx, c *Cart) error {
	prev := c.Version
	c.Version++
	err := tx.WriteCart(ctx, c, prev)
	if err != nil {
		c.Version = prev
	}
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("cart of %s changed since version %d: %w", c.Customer, prev, err)
	}
	return err
}
