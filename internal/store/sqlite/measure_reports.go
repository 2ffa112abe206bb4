package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// SaveCosts inserts or replaces the spend of each (day, channel, campaign).
func (s *Store) SaveCosts(ctx context.Context, costs []store.MeasureCost) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: save costs: %w", err)
	}
	defer tx.Rollback()
	if err := execEach(ctx, tx, "measure-put-cost", len(costs), func(i int) ([]any, error) {
		c := costs[i]
		return []any{c.Day, c.Channel, c.Campaign, c.Cents, c.Currency}, nil
	}); err != nil {
		return fmt.Errorf("sqlite: save costs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: save costs: commit: %w", err)
	}
	return nil
}

// MeasureCosts returns the spend of the days in [from, to].
func (s *Store) MeasureCosts(ctx context.Context, from, to int32) ([]store.MeasureCost, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("measure-costs"), from, to)
	if err != nil {
		return nil, fmt.Errorf("sqlite: measure costs: %w", err)
	}
	defer rows.Close()
	out := []store.MeasureCost{}
	for rows.Next() {
		var c store.MeasureCost
		if err := rows.Scan(&c.Day, &c.Channel, &c.Campaign, &c.Cents, &c.Currency); err != nil {
			return nil, fmt.Errorf("sqlite: measure costs: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SaveMeasureDefinition inserts or replaces a saved report; its version goes
// up when its definition changes.
func (s *Store) SaveMeasureDefinition(ctx context.Context, d *store.MeasureDefinition) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: save report %s: %w", d.ID, err)
	}
	defer tx.Rollback()
	var version int
	var def string
	err = tx.QueryRowContext(ctx, queries.Get("measure-definition-version"), d.ID).Scan(&version, &def)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		d.Version = 1
	case err != nil:
		return fmt.Errorf("sqlite: save report %s: %w", d.ID, err)
	case bytes.Equal([]byte(def), d.Definition):
		d.Version = version
	default:
		d.Version = version + 1
	}
	if _, err := tx.ExecContext(ctx, queries.Get("measure-put-definition"), d.ID, d.Kind, d.Version, string(d.Definition),
		micros(d.CreatedAt), micros(d.UpdatedAt)); err != nil {
		return fmt.Errorf("sqlite: save report %s: %w", d.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: save report %s: commit: %w", d.ID, err)
	}
	got, err := scanMeasureDefinition(s.w.QueryRowContext(ctx, queries.Get("measure-definition"), d.ID))
	if err != nil {
		return fmt.Errorf("sqlite: save report %s: %w", d.ID, err)
	}
	*d = *got
	return nil
}

func scanMeasureDefinition(sc interface{ Scan(...any) error }) (*store.MeasureDefinition, error) {
	var d store.MeasureDefinition
	var def string
	var created, updated int64
	if err := sc.Scan(&d.ID, &d.Kind, &d.Version, &def, &created, &updated); err != nil {
		return nil, err
	}
	d.Definition, d.CreatedAt, d.UpdatedAt = []byte(def), fromMicros(created), fromMicros(updated)
	return &d, nil
}

// MeasureDefinition returns one saved report, or ErrNotFound.
func (s *Store) MeasureDefinition(ctx context.Context, id string) (*store.MeasureDefinition, error) {
	d, err := scanMeasureDefinition(s.r.QueryRowContext(ctx, queries.Get("measure-definition"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("report", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: report %s: %w", id, err)
	}
	return d, nil
}

// ListMeasureDefinitions returns every saved report, by id.
func (s *Store) ListMeasureDefinitions(ctx context.Context) ([]*store.MeasureDefinition, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("measure-definitions"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: reports: %w", err)
	}
	defer rows.Close()
	out := []*store.MeasureDefinition{}
	for rows.Next() {
		d, err := scanMeasureDefinition(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: reports: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteMeasureDefinition removes a saved report.
func (s *Store) DeleteMeasureDefinition(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, queries.Get("measure-delete-definition"), id)
	if err != nil {
		return fmt.Errorf("sqlite: delete report %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.NotFound("report", id)
	}
	return nil
}

// JourneyArms returns every enrolment of a journey with its arm.
func (s *Store) JourneyArms(ctx context.Context, journey string) ([]store.JourneyArm, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("measure-journey-arms"), journey)
	if err != nil {
		return nil, fmt.Errorf("sqlite: journey arms %s: %w", journey, err)
	}
	defer rows.Close()
	var out []store.JourneyArm
	for rows.Next() {
		var a store.JourneyArm
		var entered int64
		if err := rows.Scan(&a.Enrolment, &a.Version, &a.Profile, &entered, &a.Control, &a.Split, &a.Variant, &a.Converted); err != nil {
			return nil, fmt.Errorf("sqlite: journey arms %s: %w", journey, err)
		}
		a.EnteredAt = fromMicros(entered)
		out = append(out, a)
	}
	return out, rows.Err()
}
