package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// SaveCosts inserts or replaces the spend of each (day, channel, campaign).
func (s *Store) SaveCosts(ctx context.Context, costs []store.MeasureCost) error {
	q := new(statements)
	for _, c := range costs {
		q.add("measure-put-cost", c.Day, c.Channel, c.Campaign, c.Cents, c.Currency)
	}
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return q.run(ctx, tx) }); err != nil {
		return fmt.Errorf("postgres: save costs: %w", err)
	}
	return nil
}

// MeasureCosts returns the spend of the days in [from, to].
func (s *Store) MeasureCosts(ctx context.Context, from, to int32) ([]store.MeasureCost, error) {
	rows, err := s.pool.Query(ctx, queries.Get("measure-costs"), from, to)
	if err != nil {
		return nil, fmt.Errorf("postgres: measure costs: %w", err)
	}
	defer rows.Close()
	out := []store.MeasureCost{}
	for rows.Next() {
		var c store.MeasureCost
		if err := rows.Scan(&c.Day, &c.Channel, &c.Campaign, &c.Cents, &c.Currency); err != nil {
			return nil, fmt.Errorf("postgres: measure costs: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SaveMeasureDefinition inserts or replaces a saved report; its version goes
// up when its definition changes.
func (s *Store) SaveMeasureDefinition(ctx context.Context, d *store.MeasureDefinition) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var version int
		var same bool
		err := tx.QueryRow(ctx, queries.Get("measure-definition-version"), d.ID, string(d.Definition)).Scan(&version, &same)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			d.Version = 1
		case err != nil:
			return err
		case same:
			d.Version = version
		default:
			d.Version = version + 1
		}
		got, err := scanMeasureDefinition(tx.QueryRow(ctx, queries.Get("measure-put-definition"), d.ID, d.Kind, d.Version,
			string(d.Definition), d.CreatedAt, d.UpdatedAt))
		if err != nil {
			return err
		}
		*d = *got
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: save report %s: %w", d.ID, err)
	}
	return nil
}

func scanMeasureDefinition(row pgx.Row) (*store.MeasureDefinition, error) {
	var d store.MeasureDefinition
	var def string
	if err := row.Scan(&d.ID, &d.Kind, &d.Version, &def, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.Definition, d.CreatedAt, d.UpdatedAt = []byte(def), d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

// MeasureDefinition returns one saved report, or ErrNotFound.
func (s *Store) MeasureDefinition(ctx context.Context, id string) (*store.MeasureDefinition, error) {
	d, err := scanMeasureDefinition(s.pool.QueryRow(ctx, queries.Get("measure-definition"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("report", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: report %s: %w", id, err)
	}
	return d, nil
}

// ListMeasureDefinitions returns every saved report, by id.
func (s *Store) ListMeasureDefinitions(ctx context.Context) ([]*store.MeasureDefinition, error) {
	rows, err := s.pool.Query(ctx, queries.Get("measure-definitions"))
	if err != nil {
		return nil, fmt.Errorf("postgres: reports: %w", err)
	}
	defer rows.Close()
	out := []*store.MeasureDefinition{}
	for rows.Next() {
		d, err := scanMeasureDefinition(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: reports: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeleteMeasureDefinition removes a saved report.
func (s *Store) DeleteMeasureDefinition(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, queries.Get("measure-delete-definition"), id)
	if err != nil {
		return fmt.Errorf("postgres: delete report %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return problem.NotFound("report", id)
	}
	return nil
}

// JourneyArms returns every enrolment of a journey with its arm.
func (s *Store) JourneyArms(ctx context.Context, journey string) ([]store.JourneyArm, error) {
	rows, err := s.pool.Query(ctx, queries.Get("measure-journey-arms"), journey)
	if err != nil {
		return nil, fmt.Errorf("postgres: journey arms %s: %w", journey, err)
	}
	defer rows.Close()
	var out []store.JourneyArm
	for rows.Next() {
		var a store.JourneyArm
		var entered time.Time
		if err := rows.Scan(&a.Enrolment, &a.Version, &a.Profile, &entered, &a.Control, &a.Split, &a.Variant, &a.Converted); err != nil {
			return nil, fmt.Errorf("postgres: journey arms %s: %w", journey, err)
		}
		a.EnteredAt = entered.UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}
