package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store"
)

// CreateOrder stores an order and holds its reservations atomically.
func (s *Store) CreateOrder(ctx context.Context, o *commerce.Order, rs []*commerce.Reservation, evs commerce.Events) ([]commerce.StockChange, error) {
	var out []commerce.StockChange
	err := s.inTx(ctx, "create order "+o.ID, func(tx *sql.Tx) (err error) {
		doc, err := json.Marshal(o)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, queries.Get("insert-order"), o.ID, string(o.Status), o.Version, o.Customer.Key(), doc,
			micros(o.CreatedAt), micros(o.UpdatedAt)); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("order %s: %w", o.ID, store.CommerceConflict)
			}
			return err
		}
		if err := insertKey(ctx, tx, o.Idem, o.ID, o.CreatedAt); err != nil {
			return err
		}
		if out, err = reserveAll(ctx, tx, rs); err != nil {
			return err
		}
		return writeOutbox(ctx, tx, evs, commerce.Effect{Changes: out})
	})
	return out, err
}

func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// Order returns an order by id.
func (s *Store) Order(ctx context.Context, id string) (*commerce.Order, error) {
	var o commerce.Order
	return &o, s.getDoc(ctx, "order "+id, &o, queries.Get("order"), id)
}

// ListOrders returns orders newest first.
func (s *Store) ListOrders(ctx context.Context, q commerce.OrderQuery) ([]*commerce.Order, error) {
	w := store.Where{Placeholder: store.QuestionMark}
	w.Eq("customer", q.Customer)
	w.Eq("status", string(q.Status))
	if q.Before != "" {
		w.Add("id < ?", q.Before)
	}
	clause, args, marks := w.SQL(store.ClampLimit(q.Limit, 100, 1000))
	return listDocs[commerce.Order](ctx, s.r, "list orders", "SELECT doc FROM orders"+clause+" ORDER BY id DESC LIMIT "+marks[0], args...)
}

// writeOrder updates o if its version is still prev.
func writeOrder(ctx context.Context, tx *sql.Tx, o *commerce.Order, prev int64) error {
	doc, err := json.Marshal(o)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, queries.Get("update-order"), string(o.Status), o.Version, doc, micros(o.UpdatedAt), o.ID, prev)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("order %s changed since version %d: %w", o.ID, prev, store.CommerceConflict)
	}
	return nil
}

// UpdateOrder writes o and applies effect to its active reservations.
func (s *Store) UpdateOrder(ctx context.Context, o *commerce.Order, prev int64, effect commerce.StockEffect, evs commerce.Events) ([]commerce.StockChange, error) {
	var out []commerce.StockChange
	err := s.inTx(ctx, "update order "+o.ID, func(tx *sql.Tx) error {
		if err := writeOrder(ctx, tx, o, prev); err != nil {
			return err
		}
		if effect == commerce.NoEffect {
			return writeOutbox(ctx, tx, evs, commerce.Effect{})
		}
		status := commerce.ReservationReleased
		if effect == commerce.Consume {
			status = commerce.ReservationConsumed
		}
		rs, err := s.queryReservations(ctx, tx, queries.Get("order-reservations"), o.ID)
		if err != nil {
			return err
		}
		for _, r := range rs { // already in (sku, location) order
			c, err := endReservation(ctx, tx, r, status, o.UpdatedAt)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return writeOutbox(ctx, tx, evs, commerce.Effect{Changes: out, Reservations: rs})
	})
	return out, err
}

// RecordReturn stores a return, writes its order and restocks the
// sellable lines at the receiving location.
func (s *Store) RecordReturn(ctx context.Context, r *commerce.Return, o *commerce.Order, prev int64, evs commerce.Events) ([]commerce.StockChange, error) {
	var out []commerce.StockChange
	err := s.inTx(ctx, "record return "+r.ID, func(tx *sql.Tx) error {
		if err := writeOrder(ctx, tx, o, prev); err != nil {
			return err
		}
		doc, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, queries.Get("insert-return"), r.ID, r.OrderID, doc, micros(r.CreatedAt)); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("return %s: %w", r.ID, store.CommerceConflict)
			}
			return err
		}
		if err := insertKey(ctx, tx, r.Idem, r.ID, r.CreatedAt); err != nil {
			return err
		}
		for _, d := range r.RestockDeltas() {
			c, err := mutateStock(ctx, tx, d.SKU, d.Location, r.CreatedAt, true, func(l *commerce.StockLevel) error {
				_, err := l.ApplyDelta(d.OnHand, false)
				return err
			})
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return writeOutbox(ctx, tx, evs, commerce.Effect{Changes: out})
	})
	return out, err
}

// Returns lists an order's returns, oldest first.
func (s *Store) Returns(ctx context.Context, orderID string) ([]*commerce.Return, error) {
	return listDocs[commerce.Return](ctx, s.r, "returns of "+orderID, queries.Get("returns-of-order"), orderID)
}

// Cart returns a customer's cart, empty if none.
func (s *Store) Cart(ctx context.Context, customer string) (*commerce.Cart, error) {
	return loadCart(ctx, s.r.QueryRowContext, customer)
}

func loadCart(ctx context.Context, q func(context.Context, string, ...any) *sql.Row, customer string) (*commerce.Cart, error) {
	var c commerce.Cart
	err := scanDoc(q(ctx, queries.Get("cart"), customer), "cart of "+customer, &c)
	if errors.Is(err, store.ErrNotFound) {
		return &commerce.Cart{Customer: customer, Items: []commerce.CartItem{}}, nil
	}
	return &c, err
}

func saveCart(ctx context.Context, tx *sql.Tx, c *commerce.Cart) error {
	prev := c.Version
	c.Version++
	doc, err := json.Marshal(c)
	if err != nil {
		return err
	}
	var res sql.Result
	if prev == 0 {
		res, err = tx.ExecContext(ctx, queries.Get("insert-cart"), c.Customer, c.Version, doc, micros(c.UpdatedAt))
	} else {
		res, err = tx.ExecContext(ctx, queries.Get("update-cart"), c.Version, doc, micros(c.UpdatedAt), c.Customer, prev)
	}
	if err != nil {
		c.Version = prev
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		c.Version = prev
		return fmt.Errorf("cart of %s changed since version %d: %w", c.Customer, prev, store.CommerceConflict)
	}
	return nil
}

// SaveCart writes a cart if its version did not move.
func (s *Store) SaveCart(ctx context.Context, c *commerce.Cart, evs commerce.Events) error {
	prev := c.Version
	err := s.inTx(ctx, "save cart", func(tx *sql.Tx) error {
		if err := saveCart(ctx, tx, c); err != nil {
			return err
		}
		return writeOutbox(ctx, tx, evs, commerce.Effect{Cart: c})
	})
	if err != nil {
		c.Version = prev // nothing was written
	}
	return err
}

// SaveCarts writes carts in one transaction, in key order (the lock
// order of MergeCart), each if its version did not move.
func (s *Store) SaveCarts(ctx context.Context, cs []*commerce.Cart, evs commerce.Events) error {
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b *commerce.Cart) int { return strings.Compare(a.Customer, b.Customer) })
	prev := make([]int64, len(sorted))
	for i, c := range sorted {
		prev[i] = c.Version
	}
	err := s.inTx(ctx, "save carts", func(tx *sql.Tx) error {
		for _, c := range sorted {
			if err := saveCart(ctx, tx, c); err != nil {
				return err
			}
			if err := writeOutbox(ctx, tx, evs, commerce.Effect{Cart: c}); err != nil {
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

// MergeCart folds from's cart into into's.
func (s *Store) MergeCart(ctx context.Context, from, into string, merge func(into, from *commerce.Cart) *commerce.Cart, evs commerce.Events) (*commerce.Cart, bool, error) {
	var out *commerce.Cart
	merged := false
	err := s.inTx(ctx, "merge cart", func(tx *sql.Tx) error {
		src, err := loadCart(ctx, tx.QueryRowContext, from)
		if err != nil {
			return err
		}
		dst, err := loadCart(ctx, tx.QueryRowContext, into)
		if err != nil {
			return err
		}
		out = dst
		if src.Version == 0 {
			return nil
		}
		out = merge(dst, src)
		if err := saveCart(ctx, tx, out); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, queries.Get("delete-cart"), from); err != nil {
			return err
		}
		merged = true
		return writeOutbox(ctx, tx, evs, commerce.Effect{Cart: out})
	})
	return out, merged, err
}
