package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

type rowScanner interface{ Scan(dest ...any) error }

func scanStock(r rowScanner) (commerce.StockLevel, error) {
	var l commerce.StockLevel
	var at int64
	err := r.Scan(&l.SKU, &l.Location, &l.OnHand, &l.Reserved, &l.Safety, &l.Version, &at)
	l.UpdatedAt = fromMicros(at)
	return l, err
}

// stockRow reads one stock row; found is false when there is none.
func stockRow(ctx context.Context, tx *sql.Tx, sku, loc string) (commerce.StockLevel, bool, error) {
	l, err := scanStock(tx.QueryRowContext(ctx, queries.Get("stock-row"), sku, loc))
	if errors.Is(err, sql.ErrNoRows) {
		return commerce.StockLevel{}, false, nil
	}
	return l, err == nil, err
}

// LockStock reads a stock row: the writer's lock is held already. A
// missing row is created by WriteStock.
func (c commerceTx) LockStock(ctx context.Context, sku, loc string, _ bool, _ time.Time) (commerce.StockLevel, bool, error) {
	return stockRow(ctx, c.tx, sku, loc)
}

// StockRow reads a stock row.
func (c commerceTx) StockRow(ctx context.Context, sku, loc string) (commerce.StockLevel, bool, error) {
	return stockRow(ctx, c.tx, sku, loc)
}

// WriteStock writes (or creates) a stock row.
func (c commerceTx) WriteStock(ctx context.Context, l commerce.StockLevel) error {
	_, err := c.tx.ExecContext(ctx, queries.Get("write-stock"), l.SKU, l.Location, l.OnHand, l.Reserved, l.Safety, l.Version, micros(l.UpdatedAt))
	return err
}

// HoldStock reserves qty units with a conditional UPDATE, the cheapest
// form.
func (c commerceTx) HoldStock(ctx context.Context, sku, loc string, qty int64, at time.Time) (commerce.StockLevel, bool, error) {
	var after commerce.StockLevel
	err := c.tx.QueryRowContext(ctx, queries.Get("reserve-stock"), qty, micros(at), sku, loc).
		Scan(&after.OnHand, &after.Reserved, &after.Safety, &after.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return after, false, nil
	}
	return after, err == nil, err
}

// ClaimAdjustment looks the key up: the writer's lock makes the look-up
// and RecordAdjustment's insert one claim.
func (c commerceTx) ClaimAdjustment(ctx context.Context, a commerce.Adjustment) (string, bool, error) {
	var prior string
	err := c.tx.QueryRowContext(ctx, queries.Get("adjustment-fingerprint"), a.Key).Scan(&prior)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return prior, err == nil, err
}

// RecordAdjustment inserts the adjustment's row.
func (c commerceTx) RecordAdjustment(ctx context.Context, a commerce.Adjustment, detail []byte) error {
	_, err := c.tx.ExecContext(ctx, queries.Get("record-adjustment"), a.Key, a.Reason, string(detail), micros(a.At), a.Fingerprint)
	return err
}

// StockOf returns one SKU's rows.
func (s *Store) StockOf(ctx context.Context, sku string) ([]commerce.StockLevel, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("stock-of"), sku)
	if err != nil {
		return nil, fmt.Errorf("sqlite: stock of %s: %w", sku, err)
	}
	defer rows.Close()
	var out []commerce.StockLevel
	for rows.Next() {
		l, err := scanStock(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: stock of %s: %w", sku, err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// HoldsFirst is true: the single writer makes the order free of lock
// contention, and holding first writes nothing for a refused reservation.
func (commerceTx) HoldsFirst() bool { return true }

// InsertReservation stores a new reservation.
func (c commerceTx) InsertReservation(ctx context.Context, r *commerce.Reservation) error {
	cust, _ := json.Marshal(r.Customer)
	_, err := c.tx.ExecContext(ctx, queries.Get("insert-reservation"), r.ID, r.SKU, r.Location, r.Quantity, commerce.ReservationActive,
		nullString(r.OrderID), string(cust), nullTime(r.ExpiresAt), micros(r.CreatedAt))
	return conflictOr(err)
}

// Reservation reads a reservation in the transaction.
func (c commerceTx) Reservation(ctx context.Context, id string) (*commerce.Reservation, error) {
	return scanReservation(c.tx.QueryRowContext(ctx, queries.Get("reservation"), id), id)
}

// EndReservation ends an active reservation.
func (c commerceTx) EndReservation(ctx context.Context, id, status string, at time.Time) error {
	return affected(c.tx.ExecContext(ctx, queries.Get("end-reservation"), status, micros(at), id))
}

// DueReservations returns active reservations due by now; the writer's
// lock keeps any other transaction off them.
func (c commerceTx) DueReservations(ctx context.Context, now time.Time, limit int) ([]*commerce.Reservation, error) {
	return queryReservations(ctx, c.tx, queries.Get("due-reservations"), micros(now), limit)
}

// OrderReservations returns an order's active reservations.
func (c commerceTx) OrderReservations(ctx context.Context, orderID string) ([]*commerce.Reservation, error) {
	return queryReservations(ctx, c.tx, queries.Get("order-reservations"), orderID)
}

// Reservation returns a reservation by id.
func (s *Store) Reservation(ctx context.Context, id string) (*commerce.Reservation, error) {
	r, err := scanReservation(s.r.QueryRowContext(ctx, queries.Get("reservation"), id), id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return r, nil
}

// ListReservations returns reservations by id.
func (s *Store) ListReservations(ctx context.Context, q commerce.ReservationQuery) ([]*commerce.Reservation, error) {
	w := store.Where{Placeholder: store.QuestionMark}
	store.ReservationWhere(q, &w)
	clause, args, marks := w.SQL(store.ListPage.Size(q.Limit))
	return queryReservations(ctx, s.r, queries.Get("list-reservations")+clause+" ORDER BY id LIMIT "+marks[0], args...)
}

func queryReservations(ctx context.Context, q queryer, query string, args ...any) ([]*commerce.Reservation, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: reservations: %w", err)
	}
	defer rows.Close()
	var out []*commerce.Reservation
	for rows.Next() {
		r, err := scanReservation(rows, "")
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// scanReservation reads a reservation row; id names it in the not-found error.
func scanReservation(row rowScanner, id string) (*commerce.Reservation, error) {
	var r commerce.Reservation
	var order sql.NullString
	var cust string
	var exp, ended sql.NullInt64
	var created int64
	err := row.Scan(&r.ID, &r.SKU, &r.Location, &r.Quantity, &r.Status, &order, &cust, &exp, &created, &ended)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("reservation", id)
	}
	if err != nil {
		return nil, fmt.Errorf("reservation: %w", err)
	}
	r.OrderID, r.ExpiresAt, r.CreatedAt, r.EndedAt = order.String, nullMicros(exp), fromMicros(created), nullMicros(ended)
	if err := json.Unmarshal([]byte(cust), &r.Customer); err != nil {
		return nil, fmt.Errorf("reservation %s: %w", r.ID, err)
	}
	return &r, nil
}

func nullTime(t time.Time) sql.NullInt64 {
	return sql.NullInt64{Int64: micros(t), Valid: !t.IsZero()}
}
