package postgres

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/commerce"
)

// The commerce writes, by the rules in commerce.Writes.

func (s *Store) writes() commerce.Writes { return commerce.Writes{Store: s} }

// SetStock sets on hand and safety, keeping reservations.
func (s *Store) SetStock(ctx context.Context, levels []commerce.StockLevel, at time.Time, evs commerce.Events) ([]commerce.StockChange, error) {
	return s.writes().SetStock(ctx, levels, at, evs)
}

// AdjustStock applies a keyed adjustment once.
func (s *Store) AdjustStock(ctx context.Context, a commerce.Adjustment, evs commerce.Events) ([]commerce.StockChange, bool, error) {
	return s.writes().AdjustStock(ctx, a, evs)
}

// Reserve holds stock for every reservation, all or none.
func (s *Store) Reserve(ctx context.Context, rs []*commerce.Reservation, evs commerce.Events) ([]commerce.StockChange, error) {
	return s.writes().Reserve(ctx, rs, evs)
}

// EndReservation releases or consumes an active reservation.
func (s *Store) EndReservation(ctx context.Context, id, status string, at time.Time, evs commerce.Events) (*commerce.Reservation, []commerce.StockChange, error) {
	return s.writes().EndReservation(ctx, id, status, at, evs)
}

// ExpireReservations releases due reservations.
func (s *Store) ExpireReservations(ctx context.Context, now time.Time, limit int, evs commerce.Events) ([]*commerce.Reservation, []commerce.StockChange, error) {
	return s.writes().ExpireReservations(ctx, now, limit, evs)
}

// CreateOrder stores an order and holds its reservations atomically.
func (s *Store) CreateOrder(ctx context.Context, o *commerce.Order, rs []*commerce.Reservation, evs commerce.Events) ([]commerce.StockChange, error) {
	return s.writes().CreateOrder(ctx, o, rs, evs)
}

// UpdateOrder writes o and applies effect to its active reservations.
func (s *Store) UpdateOrder(ctx context.Context, o *commerce.Order, prev int64, effect commerce.StockEffect, evs commerce.Events) ([]commerce.StockChange, error) {
	return s.writes().UpdateOrder(ctx, o, prev, effect, evs)
}

// RecordReturn stores a return, writes its order and restocks.
func (s *Store) RecordReturn(ctx context.Context, r *commerce.Return, o *commerce.Order, prev int64, evs commerce.Events) ([]commerce.StockChange, error) {
	return s.writes().RecordReturn(ctx, r, o, prev, evs)
}

// SaveCart writes a cart if its version did not move.
func (s *Store) SaveCart(ctx context.Context, c *commerce.Cart, evs commerce.Events) error {
	return s.writes().SaveCart(ctx, c, evs)
}

// SaveCarts writes carts in one transaction.
func (s *Store) SaveCarts(ctx context.Context, cs []*commerce.Cart, evs commerce.Events) error {
	return s.writes().SaveCarts(ctx, cs, evs)
}

// MergeCart folds from's cart into into's.
func (s *Store) MergeCart(ctx context.Context, from, into string, merge func(into, from *commerce.Cart) *commerce.Cart, evs commerce.Events) (*commerce.Cart, bool, error) {
	return s.writes().MergeCart(ctx, from, into, merge, evs)
}
