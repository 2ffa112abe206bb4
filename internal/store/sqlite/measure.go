package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// MeasureZone returns the time zone the rollups were built in.
func (s *Store) MeasureZone(ctx context.Context) (string, error) {
	var zone string
	err := s.r.QueryRowContext(ctx, queries.Get("measure-zone")).Scan(&zone)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: measure zone: %w", err)
	}
	return zone, nil
}

// ResetMeasure deletes the rollups and the consumer's checkpoint.
func (s *Store) ResetMeasure(ctx context.Context, consumer, zone string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: reset measure: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{"measure-reset-cells", "measure-reset-sets", "measure-reset-orders", "measure-reset-touches", "measure-reset-profiles"} {
		if _, err := tx.ExecContext(ctx, queries.Get(q)); err != nil {
			return fmt.Errorf("sqlite: reset measure: %s: %w", q, err)
		}
	}
	if _, err := tx.ExecContext(ctx, queries.Get("measure-delete-checkpoint"), consumer); err != nil {
		return fmt.Errorf("sqlite: reset measure: %w", err)
	}
	if _, err := tx.ExecContext(ctx, queries.Get("measure-set-zone"), zone); err != nil {
		return fmt.Errorf("sqlite: reset measure: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: reset measure: commit: %w", err)
	}
	return nil
}

// ApplyMeasure writes one flush of the measure stage in one transaction.
func (s *Store) ApplyMeasure(ctx context.Context, b *store.MeasureBatch) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: apply measure: %w", err)
	}
	defer tx.Rollback()
	var cp int64
	if err := tx.QueryRowContext(ctx, queries.Get("measure-checkpoint"), b.Consumer).Scan(&cp); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: apply measure: %w", err)
	}
	if cp != b.From {
		return fmt.Errorf("sqlite: apply measure: the checkpoint is at %d, not %d: %w", cp, b.From, store.ErrConflict)
	}
	if err := execEach(ctx, tx, "measure-add-cell", len(b.Cells), func(i int) ([]any, error) {
		c := b.Cells[i]
		return []any{c.Metric, c.Dim, c.Day, c.Value, c.N}, nil
	}); err != nil {
		return fmt.Errorf("sqlite: apply measure: %w", err)
	}
	var put, del []store.MeasureSet
	for _, m := range b.Sets {
		if len(m.Bits) == 0 {
			del = append(del, m)
		} else {
			put = append(put, m)
		}
	}
	if err := execEach(ctx, tx, "measure-put-set", len(put), func(i int) ([]any, error) {
		m := put[i]
		return []any{m.Name, m.Dim, m.Day, m.Value, m.Bits, m.Version}, nil
	}); err != nil {
		return fmt.Errorf("sqlite: apply measure: %w", err)
	}
	if err := execEach(ctx, tx, "measure-delete-set", len(del), func(i int) ([]any, error) {
		m := del[i]
		return []any{m.Name, m.Dim, m.Day, m.Value}, nil
	}); err != nil {
		return fmt.Errorf("sqlite: apply measure: %w", err)
	}
	if err := execEach(ctx, tx, "measure-put-order", len(b.Orders), func(i int) ([]any, error) {
		o := b.Orders[i]
		return []any{o.ID, o.Profile, zeroMicros(o.At), o.Key, o.Channel, o.Source, o.Store, o.Fulfillment, o.Cents,
			zeroMicros(o.FullRefundAt), o.Cancelled}, nil
	}); err != nil {
		return fmt.Errorf("sqlite: apply measure: %w", err)
	}
	if err := execEach(ctx, tx, "measure-put-touch", len(b.Touches), func(i int) ([]any, error) {
		t := b.Touches[i]
		return []any{t.Profile, t.Kind, t.Channel, t.Campaign, t.Day, micros(t.At)}, nil
	}); err != nil {
		return fmt.Errorf("sqlite: apply measure: %w", err)
	}
	if err := execEach(ctx, tx, "measure-put-profile", len(b.Profiles), func(i int) ([]any, error) {
		p := b.Profiles[i]
		return []any{p.ID, zeroMicros(p.FirstSeen), p.Acquisition, p.MinDay, p.LastDay, zeroMicros(p.FirstOrder), p.OrderChannel, p.OrderStore}, nil
	}); err != nil {
		return fmt.Errorf("sqlite: apply measure: %w", err)
	}
	for _, m := range b.Merges {
		for _, q := range []string{"measure-merge-orders", "measure-merge-touches"} {
			if _, err := tx.ExecContext(ctx, queries.Get(q), m.Into, m.Merged); err != nil {
				return fmt.Errorf("sqlite: apply measure: merge %d into %d: %s: %w", m.Merged, m.Into, q, err)
			}
		}
		for _, q := range []string{"measure-delete-touches", "measure-delete-profile"} {
			if _, err := tx.ExecContext(ctx, queries.Get(q), m.Merged); err != nil {
				return fmt.Errorf("sqlite: apply measure: merge %d into %d: %s: %w", m.Merged, m.Into, q, err)
			}
		}
	}
	if b.Checkpoint > 0 {
		if _, err := tx.ExecContext(ctx, queries.Get("measure-save-checkpoint"), b.Consumer, b.Checkpoint, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: apply measure: checkpoint: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: apply measure: commit: %w", err)
	}
	return nil
}

// MeasureProfiles pages the profile facts by id.
func (s *Store) MeasureProfiles(ctx context.Context, after int64, limit int) ([]store.MeasureProfile, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("measure-profiles"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: measure profiles: %w", err)
	}
	defer rows.Close()
	var out []store.MeasureProfile
	for rows.Next() {
		var p store.MeasureProfile
		var seen, order int64
		if err := rows.Scan(&p.ID, &seen, &p.Acquisition, &p.MinDay, &p.LastDay, &order, &p.OrderChannel, &p.OrderStore); err != nil {
			return nil, fmt.Errorf("sqlite: measure profiles: %w", err)
		}
		p.FirstSeen, p.FirstOrder = fromZeroMicros(seen), fromZeroMicros(order)
		out = append(out, p)
	}
	return out, rows.Err()
}

// MeasureCells returns the counters q selects.
func (s *Store) MeasureCells(ctx context.Context, q store.CellQuery) ([]store.MeasureCell, error) {
	w := &store.Where{Placeholder: store.QuestionMark}
	store.MeasureWhere(w, q.From, q.To, "metric", q.Metrics, q.Dims)
	where, args, _ := w.SQL()
	rows, err := s.r.QueryContext(ctx, "SELECT metric, dim, day, value, n FROM measure_cells"+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: measure cells: %w", err)
	}
	defer rows.Close()
	var out []store.MeasureCell
	for rows.Next() {
		var c store.MeasureCell
		if err := rows.Scan(&c.Metric, &c.Dim, &c.Day, &c.Value, &c.N); err != nil {
			return nil, fmt.Errorf("sqlite: measure cells: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// MeasureSets returns the profile sets q selects.
func (s *Store) MeasureSets(ctx context.Context, q store.SetQuery) ([]store.MeasureSet, error) {
	w := &store.Where{Placeholder: store.QuestionMark}
	store.MeasureWhere(w, q.From, q.To, "name", q.Names, q.Dims)
	where, args, _ := w.SQL()
	bits := "bits"
	if q.NoBits {
		bits = "NULL"
	}
	rows, err := s.r.QueryContext(ctx, "SELECT name, dim, day, value, "+bits+", version FROM measure_sets"+where, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: measure sets: %w", err)
	}
	defer rows.Close()
	var out []store.MeasureSet
	for rows.Next() {
		var m store.MeasureSet
		if err := rows.Scan(&m.Name, &m.Dim, &m.Day, &m.Value, &m.Bits, &m.Version); err != nil {
			return nil, fmt.Errorf("sqlite: measure sets: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func scanMeasureOrder(sc interface{ Scan(...any) error }) (*store.MeasureOrder, error) {
	var o store.MeasureOrder
	var at, refund int64
	if err := sc.Scan(&o.ID, &o.Profile, &at, &o.Key, &o.Channel, &o.Source, &o.Store, &o.Fulfillment, &o.Cents, &refund, &o.Cancelled); err != nil {
		return nil, err
	}
	o.At, o.FullRefundAt = fromZeroMicros(at), fromZeroMicros(refund)
	return &o, nil
}

// MeasureOrders returns the orders with these ids.
func (s *Store) MeasureOrders(ctx context.Context, ids []string) (map[string]*store.MeasureOrder, error) {
	out := make(map[string]*store.MeasureOrder, len(ids))
	for _, id := range ids {
		o, err := scanMeasureOrder(s.r.QueryRowContext(ctx, queries.Get("measure-order"), id))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: measure order %s: %w", id, err)
		}
		out[id] = o
	}
	return out, nil
}

// ProfileOrders returns every order of the profiles.
func (s *Store) ProfileOrders(ctx context.Context, profiles []int64) ([]*store.MeasureOrder, error) {
	var out []*store.MeasureOrder
	for _, p := range profiles {
		if err := s.scanOrders(ctx, "measure-orders-profile", []any{p}, func(o *store.MeasureOrder) error {
			out = append(out, o)
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ScanOrders calls fn with each counted order in [from, to), by time.
func (s *Store) ScanOrders(ctx context.Context, from, to time.Time, fn func(*store.MeasureOrder) error) error {
	return s.scanOrders(ctx, "measure-scan-orders", []any{micros(from), micros(to)}, fn)
}

func (s *Store) scanOrders(ctx context.Context, name string, args []any, fn func(*store.MeasureOrder) error) error {
	rows, err := s.r.QueryContext(ctx, queries.Get(name), args...)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanMeasureOrder(rows)
		if err != nil {
			return fmt.Errorf("sqlite: %s: %w", name, err)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ScanTouches calls fn with each touch in [from, to), by profile then time.
func (s *Store) ScanTouches(ctx context.Context, from, to time.Time, fn func(*store.MeasureTouch) error) error {
	rows, err := s.r.QueryContext(ctx, queries.Get("measure-scan-touches"), micros(from), micros(to))
	if err != nil {
		return fmt.Errorf("sqlite: measure touches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t store.MeasureTouch
		var at int64
		if err := rows.Scan(&t.Profile, &t.Kind, &t.Channel, &t.Campaign, &t.Day, &at); err != nil {
			return fmt.Errorf("sqlite: measure touches: %w", err)
		}
		t.At = fromMicros(at)
		if err := fn(&t); err != nil {
			return err
		}
	}
	return rows.Err()
}

// zeroMicros stores the zero time as 0.
func zeroMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func fromZeroMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return fromMicros(us)
}
