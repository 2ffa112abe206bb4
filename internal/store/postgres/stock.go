package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store"
)

// Stock rows are changed in one of two ways, both free of lost updates:
// a conditional UPDATE (reservations: WHERE available >= qty, re-checked
// by PostgreSQL on the locked row), or SELECT ... FOR UPDATE then UPDATE
// within one transaction (everything else). Multi-row writes take rows in
// (sku, location_id) order, so two of them never wait on each other in a
// cycle.

func scanStock(r pgx.Row) (commerce.StockLevel, error) {
	var l commerce.StockLevel
	err := r.Scan(&l.SKU, &l.Location, &l.OnHand, &l.Reserved, &l.Safety, &l.Version, &l.UpdatedAt)
	l.UpdatedAt = l.UpdatedAt.UTC()
	return l, err
}

// mutateStock changes one row with fn under its row lock, creating it if
// create is set.
func mutateStock(ctx context.Context, tx pgx.Tx, sku, loc string, at time.Time, create bool, fn func(l *commerce.StockLevel) error) (commerce.StockChange, error) {
	if create {
		if _, err := tx.Exec(ctx, queries.Get("ensure-stock-row"), sku, loc, at); err != nil {
			return commerce.StockChange{}, fmt.Errorf("stock %s@%s: %w", sku, loc, err)
		}
	}
	before, err := scanStock(tx.QueryRow(ctx, queries.Get("lock-stock-row"), sku, loc))
	if errors.Is(err, pgx.ErrNoRows) {
		return commerce.StockChange{}, &commerce.StockConstraintError{SKU: sku, Location: loc, Reason: "not stocked there"}
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
	after.Version, after.UpdatedAt = before.Version+1, at.UTC()
	if _, err := tx.Exec(ctx, queries.Get("write-stock"), sku, loc, after.OnHand, after.Reserved, after.Safety, after.Version, at); err != nil {
		return commerce.StockChange{}, fmt.Errorf("stock %s@%s: %w", sku, loc, err)
	}
	return commerce.StockChange{Before: before, After: after}, nil
}

// SetStock sets on hand and safety, keeping reservations.
func (s *Store) SetStock(ctx context.Context, levels []commerce.StockLevel, at time.Time, evs commerce.Events) ([]commerce.StockChange, error) {
	levels = slices.Clone(levels)
	commerce.SortLevels(levels)
	var out []commerce.StockChange
	err := s.inTx(ctx, "set stock", func(tx pgx.Tx) error {
		out = out[:0]
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

// AdjustStock applies a keyed adjustment once. The key is claimed first:
// a concurrent transaction with the same key waits on it, then sees it
// taken.
func (s *Store) AdjustStock(ctx context.Context, a commerce.Adjustment, evs commerce.Events) ([]commerce.StockChange, bool, error) {
	deltas := slices.Clone(a.Deltas)
	commerce.SortDeltas(deltas)
	var out []commerce.StockChange
	applied := false
	err := s.inTx(ctx, "adjust stock "+a.Key, func(tx pgx.Tx) error {
		out, applied = out[:0], false
		tag, err := tx.Exec(ctx, queries.Get("record-adjustment"), a.Key, a.Reason, "{}", a.At, a.Fingerprint)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var prior string
			if err := tx.QueryRow(ctx, queries.Get("adjustment-fingerprint"), a.Key).Scan(&prior); err != nil {
				return err
			}
			return commerce.CheckAdjustmentKey(a, prior)
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
		if _, err := tx.Exec(ctx, queries.Get("set-adjustment-detail"), a.Key, detail); err != nil {
			return err
		}
		applied = true
		return writeOutbox(ctx, tx, evs, commerce.Effect{Changes: out})
	})
	return out, applied, err
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

// reserve records r, then holds its quantity with a conditional UPDATE.
// The reservation row goes in first: the stock row's lock, which every
// reservation of a hot SKU waits on, is then held only from the UPDATE to
// the commit (with the outbox insert between them), not for one more
// statement.
func reserve(ctx context.Context, tx pgx.Tx, r *commerce.Reservation) (commerce.StockChange, error) {
	cust, _ := json.Marshal(r.Customer)
	var exp *time.Time
	if !r.ExpiresAt.IsZero() {
		exp = &r.ExpiresAt
	}
	if _, err := tx.Exec(ctx, queries.Get("insert-reservation"), r.ID, r.SKU, r.Location, r.Quantity, commerce.ReservationActive,
		r.OrderID, cust, exp, r.CreatedAt); err != nil {
		if isUniqueViolation(err) {
			return commerce.StockChange{}, fmt.Errorf("reservation %s: %w", r.ID, store.CommerceConflict)
		}
		return commerce.StockChange{}, fmt.Errorf("reservation %s: %w", r.ID, err)
	}
	if err := insertKey(ctx, tx, r.Idem, r.ID, r.CreatedAt); err != nil {
		return commerce.StockChange{}, err
	}
	after := commerce.StockLevel{SKU: r.SKU, Location: r.Location, UpdatedAt: r.CreatedAt.UTC()}
	err := tx.QueryRow(ctx, queries.Get("reserve-stock"), r.Quantity, r.CreatedAt, r.SKU, r.Location).
		Scan(&after.OnHand, &after.Reserved, &after.Safety, &after.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		ie := &commerce.InsufficientStockError{SKU: r.SKU, Location: r.Location, Requested: r.Quantity, Available: -1}
		if l, err := scanStock(tx.QueryRow(ctx, queries.Get("stock-row"), r.SKU, r.Location)); err == nil {
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
	r.Status = commerce.ReservationActive
	return commerce.StockChange{Before: before, After: after}, nil
}

func reserveAll(ctx context.Context, tx pgx.Tx, rs []*commerce.Reservation) ([]commerce.StockChange, error) {
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

// Reserve holds stock for every reservation, all or none.
func (s *Store) Reserve(ctx context.Context, rs []*commerce.Reservation, evs commerce.Events) ([]commerce.StockChange, error) {
	var out []commerce.StockChange
	err := s.inTx(ctx, "reserve", func(tx pgx.Tx) (err error) {
		if out, err = reserveAll(ctx, tx, rs); err != nil {
			return err
		}
		return writeOutbox(ctx, tx, evs, commerce.Effect{Changes: out})
	})
	return out, err
}

// endReservation ends one active reservation.
func endReservation(ctx context.Context, tx pgx.Tx, r *commerce.Reservation, status string, at time.Time) (commerce.StockChange, error) {
	tag, err := tx.Exec(ctx, queries.Get("end-reservation"), status, at, r.ID)
	if err != nil {
		return commerce.StockChange{}, err
	}
	if tag.RowsAffected() == 0 {
		return commerce.StockChange{}, fmt.Errorf("reservation %s is no longer active: %w", r.ID, store.CommerceConflict)
	}
	r.Status, r.EndedAt = status, at.UTC()
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
	err := s.inTx(ctx, "end reservation "+id, func(tx pgx.Tx) (err error) {
		if r, err = scanReservation(tx.QueryRow(ctx, queries.Get("reservation"), id)); err != nil {
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
	r, err := scanReservation(s.pool.QueryRow(ctx, queries.Get("reservation"), id))
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return r, nil
}

// ListReservations returns reservations by id.
func (s *Store) ListReservations(ctx context.Context, q commerce.ReservationQuery) ([]*commerce.Reservation, error) {
	w := store.Where{Placeholder: store.Dollar}
	w.Eq("sku", q.SKU)
	w.Eq("location_id", q.Location)
	w.Eq("order_id", q.OrderID)
	w.Eq("status", q.Status)
	if q.After != "" {
		w.Add("id > ?", q.After)
	}
	clause, args, marks := w.SQL(store.ClampLimit(q.Limit, 100, 1000))
	return queryReservations(ctx, s.pool, `SELECT id, sku, location_id, quantity, status, order_id, customer, expires_at, created_at, ended_at
		FROM reservations`+clause+` ORDER BY id LIMIT `+marks[0], args...)
}

// ExpireReservations releases due reservations. Rows another process is
// expiring are skipped, not waited for.
func (s *Store) ExpireReservations(ctx context.Context, now time.Time, limit int, evs commerce.Events) ([]*commerce.Reservation, []commerce.StockChange, error) {
	var rs []*commerce.Reservation
	var out []commerce.StockChange
	err := s.inTx(ctx, "expire reservations", func(tx pgx.Tx) (err error) {
		out = out[:0]
		if rs, err = queryReservations(ctx, tx, queries.Get("due-reservations"), now, limit); err != nil {
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

func queryReservations(ctx context.Context, q queryer, query string, args ...any) ([]*commerce.Reservation, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: reservations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*commerce.Reservation, error) { return scanReservation(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: reservations: %w", err)
	}
	return out, nil
}

func scanReservation(row pgx.Row) (*commerce.Reservation, error) {
	var r commerce.Reservation
	var order *string
	var cust []byte
	var exp, ended *time.Time
	err := row.Scan(&r.ID, &r.SKU, &r.Location, &r.Quantity, &r.Status, &order, &cust, &exp, &r.CreatedAt, &ended)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("reservation: %w", store.CommerceNotFound)
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
