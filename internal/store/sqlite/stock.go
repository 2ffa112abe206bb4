package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store"
)

// The single writer connection serialises every stock change: a row read
// inside a write transaction cannot change before the transaction commits,
// so read-compute-write is race-free here. Reservations still use a
// conditional UPDATE, the cheapest form.

type rowScanner interface{ Scan(dest ...any) error }

func scanStock(r rowScanner) (commerce.StockLevel, error) {
	var l commerce.StockLevel
	var at int64
	err := r.Scan(&l.SKU, &l.Location, &l.OnHand, &l.Reserved, &l.Safety, &l.Version, &at)
	l.UpdatedAt = fromMicros(at)
	return l, err
}

// mutateStock changes one row under the writer's lock with fn, creating it
// if create is set, and checks the constraint before writing.
func mutateStock(ctx context.Context, tx *sql.Tx, sku, loc string, at time.Time, create bool, fn func(l *commerce.StockLevel) error) (commerce.StockChange, error) {
	before, err := scanStock(tx.QueryRowContext(ctx, queries.Get("stock-row"), sku, loc))
	if errors.Is(err, sql.ErrNoRows) {
		if !create {
			return commerce.StockChange{}, &commerce.StockConstraintError{SKU: sku, Location: loc, Reason: "not stocked there"}
		}
		before, err = commerce.StockLevel{SKU: sku, Location: loc}, nil
	}
	if err != nil {
		return commerce.StockChange{}, fmt.Errorf("stock %s@%s: %w", sku, loc, err)
	}
	after := before
	if err := fn(&after); err != nil {
		return commerce.StockChange{}, err
	}
	if err := commerce.CheckLevel(after); err != nil {
		return commerce.StockChange{}, err
	}
	after.Version, after.UpdatedAt = before.Version+1, at
	if _, err := tx.ExecContext(ctx, queries.Get("write-stock"), sku, loc, after.OnHand, after.Reserved, after.Safety, after.Version, micros(at)); err != nil {
		return commerce.StockChange{}, fmt.Errorf("stock %s@%s: %w", sku, loc, err)
	}
	return commerce.StockChange{Before: before, After: after}, nil
}

// SetStock sets on hand and safety, keeping reservations.
func (s *Store) SetStock(ctx context.Context, levels []commerce.StockLevel, at time.Time, evs commerce.Events) ([]commerce.StockChange, error) {
	levels = slices.Clone(levels)
	commerce.SortLevels(levels)
	var out []commerce.StockChange
	err := s.inTx(ctx, "set stock", func(tx *sql.Tx) error {
		for _, l := range levels {
			c, err := mutateStock(ctx, tx, l.SKU, l.Location, at, true, func(r *commerce.StockLevel) error {
				r.OnHand, r.Safety = l.OnHand, l.Safety
				return nil
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

// AdjustStock applies a keyed adjustment once.
func (s *Store) AdjustStock(ctx context.Context, a commerce.Adjustment, evs commerce.Events) ([]commerce.StockChange, bool, error) {
	deltas := slices.Clone(a.Deltas)
	commerce.SortDeltas(deltas)
	var out []commerce.StockChange
	applied := false
	err := s.inTx(ctx, "adjust stock "+a.Key, func(tx *sql.Tx) error {
		var prior string
		err := tx.QueryRowContext(ctx, queries.Get("adjustment-fingerprint"), a.Key).Scan(&prior)
		if err == nil {
			return commerce.CheckAdjustmentKey(a, prior)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		shortfall := map[string]int64{}
		for _, d := range deltas {
			c, err := mutateStock(ctx, tx, d.SKU, d.Location, a.At, d.OnHand > 0 || a.Clamp, func(r *commerce.StockLevel) error {
				short, err := r.ApplyDelta(d.OnHand, a.Clamp)
				if short > 0 {
					shortfall[d.SKU+"@"+d.Location] = short
				}
				return err
			})
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		detail, _ := json.Marshal(map[string]any{"deltas": deltas, "shortfall": shortfall})
		if _, err := tx.ExecContext(ctx, queries.Get("record-adjustment"), a.Key, a.Reason, string(detail), micros(a.At), a.Fingerprint); err != nil {
			return err
		}
		applied = true
		return writeOutbox(ctx, tx, evs, commerce.Effect{Changes: out})
	})
	return out, applied, err
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

// reserve holds r's quantity with a conditional UPDATE, and records r.
func reserve(ctx context.Context, tx *sql.Tx, r *commerce.Reservation) (commerce.StockChange, error) {
	var after commerce.StockLevel
	after.SKU, after.Location, after.UpdatedAt = r.SKU, r.Location, r.CreatedAt
	err := tx.QueryRowContext(ctx, queries.Get("reserve-stock"), r.Quantity, micros(r.CreatedAt), r.SKU, r.Location).
		Scan(&after.OnHand, &after.Reserved, &after.Safety, &after.Version)
	if errors.Is(err, sql.ErrNoRows) {
		ie := &commerce.InsufficientStockError{SKU: r.SKU, Location: r.Location, Requested: r.Quantity, Available: -1}
		if l, err := scanStock(tx.QueryRowContext(ctx, queries.Get("stock-row"), r.SKU, r.Location)); err == nil {
			ie.Available = max(0, l.Available())
		}
		return commerce.StockChange{}, ie
	}
	if err != nil {
		return commerce.StockChange{}, fmt.Errorf("reserve %s@%s: %w", r.SKU, r.Location, err)
	}
	before := after
	before.Reserved -= r.Quantity
	before.Version--
	cust, _ := json.Marshal(r.Customer)
	if _, err := tx.ExecContext(ctx, queries.Get("insert-reservation"), r.ID, r.SKU, r.Location, r.Quantity, commerce.ReservationActive,
		nullString(r.OrderID), string(cust), nullTime(r.ExpiresAt), micros(r.CreatedAt)); err != nil {
		if isUniqueViolation(err) {
			return commerce.StockChange{}, fmt.Errorf("reservation %s: %w", r.ID, store.CommerceConflict)
		}
		return commerce.StockChange{}, fmt.Errorf("reservation %s: %w", r.ID, err)
	}
	if err := insertKey(ctx, tx, r.Idem, r.ID, r.CreatedAt); err != nil {
		return commerce.StockChange{}, err
	}
	r.Status = commerce.ReservationActive
	return commerce.StockChange{Before: before, After: after}, nil
}

func reserveAll(ctx context.Context, tx *sql.Tx, rs []*commerce.Reservation) ([]commerce.StockChange, error) {
	rs = slices.Clone(rs)
	commerce.SortReservations(rs)
	var out []commerce.StockChange
	for _, r := range rs {
		c, err := reserve(ctx, tx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Reserve holds stock for every reservation, all or none. Concurrent
// calls share transactions (see groupTx), each in its own savepoint.
// The reservation's outbox rows are written in its savepoint: a refused
// reservation leaves none.
func (s *Store) Reserve(ctx context.Context, rs []*commerce.Reservation, evs commerce.Events) ([]commerce.StockChange, error) {
	var out []commerce.StockChange
	err := s.group.do(ctx, s, func(tx *sql.Tx) (err error) {
		// Not cancellable once started: SQLite rolls back the whole
		// (shared) transaction when a write statement is interrupted.
		wctx := context.WithoutCancel(ctx)
		if out, err = reserveAll(wctx, tx, rs); err != nil {
			return err
		}
		return writeOutbox(wctx, tx, evs, commerce.Effect{Changes: out})
	})
	return out, err
}

// endReservation ends one active reservation: released or expired give the
// stock back, consumed takes it out of on hand too.
func endReservation(ctx context.Context, tx *sql.Tx, r *commerce.Reservation, status string, at time.Time) (commerce.StockChange, error) {
	res, err := tx.ExecContext(ctx, queries.Get("end-reservation"), status, micros(at), r.ID)
	if err != nil {
		return commerce.StockChange{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return commerce.StockChange{}, fmt.Errorf("reservation %s is no longer active: %w", r.ID, store.CommerceConflict)
	}
	r.Status, r.EndedAt = status, at
	return mutateStock(ctx, tx, r.SKU, r.Location, at, false, func(l *commerce.StockLevel) error {
		l.Reserved -= r.Quantity
		if status == commerce.ReservationConsumed {
			l.OnHand -= r.Quantity
		}
		return nil
	})
}

// EndReservation releases or consumes an active reservation.
func (s *Store) EndReservation(ctx context.Context, id, status string, at time.Time, evs commerce.Events) (*commerce.Reservation, []commerce.StockChange, error) {
	var r *commerce.Reservation
	var c commerce.StockChange
	err := s.inTx(ctx, "end reservation "+id, func(tx *sql.Tx) (err error) {
		if r, err = scanReservation(tx.QueryRowContext(ctx, queries.Get("reservation"), id)); err != nil {
			return err
		}
		if c, err = endReservation(ctx, tx, r, status, at); err != nil {
			return err
		}
		return writeOutbox(ctx, tx, evs, commerce.Effect{Changes: []commerce.StockChange{c}, Reservations: []*commerce.Reservation{r}})
	})
	if err != nil {
		return nil, nil, err
	}
	return r, []commerce.StockChange{c}, nil
}

// Reservation returns a reservation by id.
func (s *Store) Reservation(ctx context.Context, id string) (*commerce.Reservation, error) {
	r, err := scanReservation(s.r.QueryRowContext(ctx, queries.Get("reservation"), id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return r, nil
}

// ListReservations returns reservations by id.
func (s *Store) ListReservations(ctx context.Context, q commerce.ReservationQuery) ([]*commerce.Reservation, error) {
	w := store.Where{Placeholder: store.QuestionMark}
	w.Eq("sku", q.SKU)
	w.Eq("location_id", q.Location)
	w.Eq("order_id", q.OrderID)
	w.Eq("status", q.Status)
	if q.After != "" {
		w.Add("id > ?", q.After)
	}
	clause, args, marks := w.SQL(store.ClampLimit(q.Limit, 100, 1000))
	return s.queryReservations(ctx, s.r, `SELECT id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at, ended_at
		FROM reservations`+clause+` ORDER BY id LIMIT `+marks[0], args...)
}

// ExpireReservations releases due reservations.
func (s *Store) ExpireReservations(ctx context.Context, now time.Time, limit int, evs commerce.Events) ([]*commerce.Reservation, []commerce.StockChange, error) {
	var rs []*commerce.Reservation
	var out []commerce.StockChange
	err := s.inTx(ctx, "expire reservations", func(tx *sql.Tx) (err error) {
		if rs, err = s.queryReservations(ctx, tx, queries.Get("due-reservations"), micros(now), limit); err != nil {
			return err
		}
		commerce.SortReservations(rs)
		for _, r := range rs {
			c, err := endReservation(ctx, tx, r, commerce.ReservationExpired, now)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		if len(rs) == 0 {
			return nil
		}
		return writeOutbox(ctx, tx, evs, commerce.Effect{Changes: out, Reservations: rs})
	})
	return rs, out, err
}

func (s *Store) queryReservations(ctx context.Context, q queryer, query string, args ...any) ([]*commerce.Reservation, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: reservations: %w", err)
	}
	defer rows.Close()
	var out []*commerce.Reservation
	for rows.Next() {
		r, err := scanReservation(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanReservation(row rowScanner) (*commerce.Reservation, error) {
	var r commerce.Reservation
	var order sql.NullString
	var cust string
	var exp, ended sql.NullInt64
	var created int64
	err := row.Scan(&r.ID, &r.SKU, &r.Location, &r.Quantity, &r.Status, &order, &cust, &exp, &created, &ended)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("reservation: %w", store.CommerceNotFound)
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
