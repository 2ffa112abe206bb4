package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

func scanStock(r pgx.Row) (commerce.StockLevel, error) {
	var l commerce.StockLevel
	err := r.Scan(&l.SKU, &l.Location, &l.OnHand, &l.Reserved, &l.Safety, &l.Version, &l.UpdatedAt)
	l.UpdatedAt = l.UpdatedAt.UTC()
	return l, err
}

// stockRow reads one stock row with query; found is false when there is
// none.
func stockRow(ctx context.Context, tx pgx.Tx, query, sku, loc string) (commerce.StockLevel, bool, error) {
	l, err := scanStock(tx.QueryRow(ctx, query, sku, loc))
	if errors.Is(err, pgx.ErrNoRows) {
		return commerce.StockLevel{}, false, nil
	}
	return l, err == nil, err
}

// LockStock reads a stock row FOR UPDATE, creating it empty first if
// create is set: a row inserted by a concurrent transaction is then
// waited for, not inserted twice.
func (c commerceTx) LockStock(ctx context.Context, sku, loc string, create bool, at time.Time) (commerce.StockLevel, bool, error) {
	if create {
		if _, err := c.tx.Exec(ctx, queries.Get("ensure-stock-row"), sku, loc, at); err != nil {
			return commerce.StockLevel{}, false, err
		}
	}
	return stockRow(ctx, c.tx, queries.Get("lock-stock-row"), sku, loc)
}

// StockRow reads a stock row without locking it.
func (c commerceTx) StockRow(ctx context.Context, sku, loc string) (commerce.StockLevel, bool, error) {
	return stockRow(ctx, c.tx, queries.Get("stock-row"), sku, loc)
}

// WriteStock writes a stock row locked by LockStock.
func (c commerceTx) WriteStock(ctx context.Context, l commerce.StockLevel) error {
	_, err := c.tx.Exec(ctx, queries.Get("write-stock"), l.SKU, l.Location, l.OnHand, l.Reserved, l.Safety, l.Version, l.UpdatedAt)
	return err
}

// HoldStock reserves qty units with a conditional UPDATE: PostgreSQL
// locks the row and re-checks the condition on its latest version.
func (c commerceTx) HoldStock(ctx context.Context, sku, loc string, qty int64, at time.Time) (commerce.StockLevel, bool, error) {
	var after commerce.StockLevel
	err := c.tx.QueryRow(ctx, queries.Get("reserve-stock"), qty, at, sku, loc).
		Scan(&after.OnHand, &after.Reserved, &after.Safety, &after.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return after, false, nil
	}
	return after, err == nil, err
}

// ClaimAdjustment inserts the key's row first: a concurrent transaction
// with the same key waits on it, then finds it taken.
func (c commerceTx) ClaimAdjustment(ctx context.Context, a commerce.Adjustment) (string, bool, error) {
	tag, err := c.tx.Exec(ctx, queries.Get("record-adjustment"), a.Key, a.Reason, "{}", a.At, a.Fingerprint)
	if err != nil || tag.RowsAffected() == 1 {
		return "", false, err
	}
	var prior string
	err = c.tx.QueryRow(ctx, queries.Get("adjustment-fingerprint"), a.Key).Scan(&prior)
	return prior, err == nil, err
}

// RecordAdjustment sets the claimed row's detail.
func (c commerceTx) RecordAdjustment(ctx context.Context, a commerce.Adjustment, detail []byte) error {
	_, err := c.tx.Exec(ctx, queries.Get("set-adjustment-detail"), a.Key, detail)
	return err
}

// StockOf returns one SKU's rows.
func (s *Store) StockOf(ctx context.Context, sku string) ([]commerce.StockLevel, error) {
	rows, err := s.pool.Query(ctx, queries.Get("stock-of"), sku)
	if err != nil {
		return nil, fmt.Errorf("postgres: stock of %s: %w", sku, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (commerce.StockLevel, error) { return scanStock(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: stock of %s: %w", sku, err)
	}
	return out, nil
}

// HoldsFirst is false: the reservation row goes in first, so that the hot
// stock row's lock is held only from the UPDATE to the commit (inserting
// after the UPDATE fell to 480-1,388 reservations/s).
func (commerceTx) HoldsFirst() bool { return false }

// InsertReservation stores a new reservation.
func (c commerceTx) InsertReservation(ctx context.Context, r *commerce.Reservation) error {
	cust, _ := json.Marshal(r.Customer)
	var exp *time.Time
	if !r.ExpiresAt.IsZero() {
		exp = &r.ExpiresAt
	}
	_, err := c.tx.Exec(ctx, queries.Get("insert-reservation"), r.ID, r.SKU, r.Location, r.Quantity, commerce.ReservationActive,
		r.OrderID, cust, exp, r.CreatedAt)
	return conflictOr(err)
}

// Reservation reads a reservation in the transaction.
func (c commerceTx) Reservation(ctx context.Context, id string) (*commerce.Reservation, error) {
	return scanReservation(c.tx.QueryRow(ctx, queries.Get("reservation"), id), id)
}

// EndReservation ends an active reservation.
func (c commerceTx) EndReservation(ctx context.Context, id, status string, at time.Time) error {
	return affected(c.tx.Exec(ctx, queries.Get("end-reservation"), status, at, id))
}

// DueReservations returns active reservations due by now, locked; rows
// another transaction is expiring are skipped, not waited for.
func (c commerceTx) DueReservations(ctx context.Context, now time.Time, limit int) ([]*commerce.Reservation, error) {
	return queryReservations(ctx, c.tx, queries.Get("due-reservations"), now, limit)
}

// OrderReservations returns an order's active reservations.
func (c commerceTx) OrderReservations(ctx context.Context, orderID string) ([]*commerce.Reservation, error) {
	return queryReservations(ctx, c.tx, queries.Get("order-reservations"), orderID)
}

// Reservation returns a reservation by id.
func (s *Store) Reservation(ctx context.Context, id string) (*commerce.Reservation, error) {
	r, err := scanReservation(s.pool.QueryRow(ctx, queries.Get("reservation"), id), id)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return r, nil
}

// ListReservations returns reservations by id.
func (s *Store) ListReservations(ctx context.Context, q commerce.ReservationQuery) ([]*commerce.Reservation, error) {
	w := store.Where{Placeholder: store.Dollar}
	store.ReservationWhere(q, &w)
	clause, args, marks := w.SQL(store.ListPage.Size(q.Limit))
	return queryReservations(ctx, s.pool, queries.Get("list-reservations")+clause+" ORDER BY id LIMIT "+marks[0], args...)
}

func queryReservations(ctx context.Context, q queryer, query string, args ...any) ([]*commerce.Reservation, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: reservations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*commerce.Reservation, error) { return scanReservation(r, "") })
	if err != nil {
		return nil, fmt.Errorf("postgres: reservations: %w", err)
	}
	return out, nil
}

// scanReservation reads a reservation row; id names it in the not-found error.
func scanReservation(row pgx.Row, id string) (*commerce.Reservation, error) {
	var r commerce.Reservation
	var order *string
	var cust []byte
	var exp, ended *time.Time
	err := row.Scan(&r.ID, &r.SKU, &r.Location, &r.Quantity, &r.Status, &order, &cust, &exp, &r.CreatedAt, &ended)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("reservation", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reservation: %w", err)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	if order != nil {
		r.OrderID = *order
	}
	if exp != nil {
		r.ExpiresAt = exp.UTC()
	}
	if ended != nil {
		r.EndedAt = ended.UTC()
	}
	if err := json.Unmarshal(cust, &r.Customer); err != nil {
		return nil, fmt.Errorf("reservation %s: %w", r.ID, err)
	}
	return &r, nil
}
