package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/store"
)

// measureLock is held by each flush of the measure stage until it commits.
const measureLock int64 = 0x70617263_6d657372 // "parc" "mesr"

// MeasureZone returns the time zone the rollups were built in.
func (s *Store) MeasureZone(ctx context.Context) (string, error) {
	var zone string
	err := s.pool.QueryRow(ctx, queries.Get("measure-zone")).Scan(&zone)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: measure zone: %w", err)
	}
	return zone, nil
}

// ResetMeasure deletes the rollups and the consumer's checkpoint.
func (s *Store) ResetMeasure(ctx context.Context, consumer, zone string) error {
	q := new(statements)
	q.add("measure-lock", measureLock)
	q.add("measure-reset")
	q.add("measure-delete-checkpoint", consumer)
	q.add("measure-set-zone", zone)
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return q.run(ctx, tx) }); err != nil {
		return fmt.Errorf("postgres: reset measure: %w", err)
	}
	return nil
}

// ApplyMeasure writes one flush of the measure stage in one transaction.
func (s *Store) ApplyMeasure(ctx context.Context, b *store.MeasureBatch) error {
	q := new(statements)
	for _, c := range b.Cells {
		q.add("measure-add-cell", c.Metric, c.Dim, c.Day, c.Value, c.N)
	}
	for _, m := range b.Sets {
		if len(m.Bits) == 0 {
			q.add("measure-delete-set", m.Name, m.Dim, m.Day, m.Value)
		} else {
			q.add("measure-put-set", m.Name, m.Dim, m.Day, m.Value, m.Bits, m.Version)
		}
	}
	for _, o := range b.Orders {
		q.add("measure-put-order", o.ID, o.Profile, nullTimestamp(o.At), o.Key, o.Channel, o.Source, o.Store, o.Fulfillment,
			o.Cents, nullTimestamp(o.FullRefundAt), o.Cancelled)
	}
	for _, t := range b.Touches {
		q.add("measure-put-touch", t.Profile, t.Kind, t.Channel, t.Campaign, t.Day, t.At)
	}
	for _, p := range b.Profiles {
		q.add("measure-put-profile", p.ID, nullTimestamp(p.FirstSeen), p.Acquisition, p.MinDay, p.LastDay, nullTimestamp(p.FirstOrder),
			p.OrderChannel, p.OrderStore)
	}
	for _, m := range b.Merges {
		q.add("measure-merge-orders", m.Into, m.Merged)
		q.add("measure-merge-touches", m.Into, m.Merged)
		q.add("measure-delete-touches", m.Merged)
		q.add("measure-delete-profile", m.Merged)
	}
	if b.Checkpoint > 0 {
		q.add("measure-save-checkpoint", b.Consumer, b.Checkpoint)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, queries.Get("measure-lock"), measureLock); err != nil {
			return err
		}
		var cp int64
		if err := tx.QueryRow(ctx, queries.Get("measure-checkpoint"), b.Consumer).Scan(&cp); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if cp != b.From {
			return fmt.Errorf("the checkpoint is at %d, not %d: %w", cp, b.From, store.ErrConflict)
		}
		return q.run(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("postgres: apply measure: %w", err)
	}
	return nil
}

// MeasureProfiles pages the profile facts by id.
func (s *Store) MeasureProfiles(ctx context.Context, after int64, limit int) ([]store.MeasureProfile, error) {
	rows, err := s.pool.Query(ctx, queries.Get("measure-profiles"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: measure profiles: %w", err)
	}
	defer rows.Close()
	var out []store.MeasureProfile
	for rows.Next() {
		var p store.MeasureProfile
		var seen, order *time.Time
		if err := rows.Scan(&p.ID, &seen, &p.Acquisition, &p.MinDay, &p.LastDay, &order, &p.OrderChannel, &p.OrderStore); err != nil {
			return nil, fmt.Errorf("postgres: measure profiles: %w", err)
		}
		p.FirstSeen, p.FirstOrder = utcOrZero(seen), utcOrZero(order)
		out = append(out, p)
	}
	return out, rows.Err()
}

// MeasureCells returns the counters q selects.
func (s *Store) MeasureCells(ctx context.Context, q store.CellQuery) ([]store.MeasureCell, error) {
	w := &store.Where{Placeholder: store.Dollar}
	store.MeasureWhere(w, q.From, q.To, "metric", q.Metrics, q.Dims)
	where, args, _ := w.SQL()
	rows, err := s.pool.Query(ctx, "SELECT metric, dim, day, value, n FROM measure_cells"+where, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: measure cells: %w", err)
	}
	defer rows.Close()
	var out []store.MeasureCell
	for rows.Next() {
		var c store.MeasureCell
		if err := rows.Scan(&c.Metric, &c.Dim, &c.Day, &c.Value, &c.N); err != nil {
			return nil, fmt.Errorf("postgres: measure cells: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// MeasureSets returns the profile sets q selects.
func (s *Store) MeasureSets(ctx context.Context, q store.SetQuery) ([]store.MeasureSet, error) {
	w := &store.Where{Placeholder: store.Dollar}
	store.MeasureWhere(w, q.From, q.To, "name", q.Names, q.Dims)
	where, args, _ := w.SQL()
	bits := "bits"
	if q.NoBits {
		bits = "NULL::bytea"
	}
	rows, err := s.pool.Query(ctx, "SELECT name, dim, day, value, "+bits+", version FROM measure_sets"+where, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: measure sets: %w", err)
	}
	defer rows.Close()
	var out []store.MeasureSet
	for rows.Next() {
		var m store.MeasureSet
		if err := rows.Scan(&m.Name, &m.Dim, &m.Day, &m.Value, &m.Bits, &m.Version); err != nil {
			return nil, fmt.Errorf("postgres: measure sets: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func scanMeasureOrder(row pgx.Row) (*store.MeasureOrder, error) {
	var o store.MeasureOrder
	var at, refund *time.Time
	if err := row.Scan(&o.ID, &o.Profile, &at, &o.Key, &o.Channel, &o.Source, &o.Store, &o.Fulfillment, &o.Cents, &refund, &o.Cancelled); err != nil {
		return nil, err
	}
	o.At, o.FullRefundAt = utcOrZero(at), utcOrZero(refund)
	return &o, nil
}

// MeasureOrders returns the orders with these ids.
func (s *Store) MeasureOrders(ctx context.Context, ids []string) (map[string]*store.MeasureOrder, error) {
	out := make(map[string]*store.MeasureOrder, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := s.scanOrders(ctx, "measure-orders", []any{ids}, func(o *store.MeasureOrder) error {
		out[o.ID] = o
		return nil
	})
	return out, err
}

// ProfileOrders returns every order of the profiles.
func (s *Store) ProfileOrders(ctx context.Context, profiles []int64) ([]*store.MeasureOrder, error) {
	var out []*store.MeasureOrder
	if len(profiles) == 0 {
		return nil, nil
	}
	err := s.scanOrders(ctx, "measure-orders-profiles", []any{profiles}, func(o *store.MeasureOrder) error {
		out = append(out, o)
		return nil
	})
	return out, err
}

// ScanOrders calls fn with each counted order in [from, to), by time.
func (s *Store) ScanOrders(ctx context.Context, from, to time.Time, fn func(*store.MeasureOrder) error) error {
	return s.scanOrders(ctx, "measure-scan-orders", []any{from, to}, fn)
}

func (s *Store) scanOrders(ctx context.Context, name string, args []any, fn func(*store.MeasureOrder) error) error {
	rows, err := s.pool.Query(ctx, queries.Get(name), args...)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", name, err)
	}
	defer rows.Close()
	for rows.Next() {
		o, err := scanMeasureOrder(rows)
		if err != nil {
			return fmt.Errorf("postgres: %s: %w", name, err)
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ScanTouches calls fn with each touch in [from, to), by profile then time.
func (s *Store) ScanTouches(ctx context.Context, from, to time.Time, fn func(*store.MeasureTouch) error) error {
	rows, err := s.pool.Query(ctx, queries.Get("measure-scan-touches"), from, to)
	if err != nil {
		return fmt.Errorf("postgres: measure touches: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t store.MeasureTouch
		if err := rows.Scan(&t.Profile, &t.Kind, &t.Channel, &t.Campaign, &t.Day, &t.At); err != nil {
			return fmt.Errorf("postgres: measure touches: %w", err)
		}
		t.At = t.At.UTC()
		if err := fn(&t); err != nil {
			return err
		}
	}
	return rows.Err()
}

func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
