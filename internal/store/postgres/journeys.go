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

// SaveJourney inserts or replaces a journey, keeping each version.
func (s *Store) SaveJourney(ctx context.Context, j *store.JourneyRecord) error {
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = time.Now().UTC()
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, queries.Get("upsert-journey"), j.ID, string(j.Definition), j.Status, j.UpdatedAt).
			Scan(&j.Version, &j.CreatedAt); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, queries.Get("insert-journey-version"), j.ID, j.Version, string(j.Definition), j.UpdatedAt)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: save journey %s: %w", j.ID, err)
	}
	j.CreatedAt = j.CreatedAt.UTC()
	return nil
}

func scanJourney(row pgx.Row) (*store.JourneyRecord, error) {
	var j store.JourneyRecord
	var def string
	if err := row.Scan(&j.ID, &j.Version, &def, &j.Status, &j.CreatedAt, &j.UpdatedAt); err != nil {
		return nil, err
	}
	j.Definition, j.CreatedAt, j.UpdatedAt = []byte(def), j.CreatedAt.UTC(), j.UpdatedAt.UTC()
	return &j, nil
}

// ListJourneys returns the latest version of every journey, by id.
func (s *Store) ListJourneys(ctx context.Context) ([]*store.JourneyRecord, error) {
	rows, err := s.pool.Query(ctx, queries.Get("list-journeys"))
	if err != nil {
		return nil, fmt.Errorf("postgres: list journeys: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.JourneyRecord, error) { return scanJourney(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list journeys: %w", err)
	}
	return out, nil
}

// JourneyVersion returns one version of a journey (0: the latest).
func (s *Store) JourneyVersion(ctx context.Context, id string, version int) (*store.JourneyRecord, error) {
	j, err := scanJourney(s.pool.QueryRow(ctx, queries.Get("journey-version"), id, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("journey", fmt.Sprintf("%s version %d", id, version))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: journey %s version %d: %w", id, version, err)
	}
	return j, nil
}

// SetJourneyStatus changes a journey's status; archiving ends its active
// enrolments.
func (s *Store) SetJourneyStatus(ctx context.Context, id, status string, at time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, queries.Get("set-journey-status"), status, at, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return problem.NotFound("journey", id)
		}
		if status == "archived" {
			_, err = tx.Exec(ctx, queries.Get("archive-enrolments"), at, id)
		}
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("postgres: journey %s status: %w", id, err)
	}
	return err
}

func scanEnrolment(row pgx.Row) (*store.Enrolment, error) {
	var e store.Enrolment
	var due, ended *time.Time
	if err := row.Scan(&e.ID, &e.Journey, &e.Version, &e.Profile, &e.Status, &e.Step, &e.State, &due,
		&e.EnteredAt, &e.UpdatedAt, &ended, &e.Reason); err != nil {
		return nil, err
	}
	if due != nil {
		e.DueAt = due.UTC()
	}
	if ended != nil {
		e.EndedAt = ended.UTC()
	}
	e.EnteredAt, e.UpdatedAt = e.EnteredAt.UTC(), e.UpdatedAt.UTC()
	return &e, nil
}

func collectEnrolments(rows pgx.Rows) ([]*store.Enrolment, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Enrolment, error) { return scanEnrolment(r) })
}

// ProfileEnrolments returns every enrolment of the profiles.
func (s *Store) ProfileEnrolments(ctx context.Context, profiles []int64) ([]*store.Enrolment, error) {
	if len(profiles) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, queries.Get("profile-enrolments"), profiles)
	if err != nil {
		return nil, fmt.Errorf("postgres: profile enrolments: %w", err)
	}
	out, err := collectEnrolments(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: profile enrolments: %w", err)
	}
	return out, nil
}

// ClaimDueEnrolments leases due enrolments to owner; SKIP LOCKED keeps
// concurrent claimers on different rows.
func (s *Store) ClaimDueEnrolments(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int) ([]*store.Enrolment, error) {
	rows, err := s.pool.Query(ctx, queries.Get("claim-due-enrolments"), owner, now.Add(lease), now, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due enrolments: %w", err)
	}
	out, err := collectEnrolments(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: claim due enrolments: %w", err)
	}
	return out, nil
}

func nullTimestamp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ApplyJourneys writes one batch of the journey engine in one transaction.
func (s *Store) ApplyJourneys(ctx context.Context, b *store.JourneyBatch) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, e := range b.Insert {
			if err := tx.QueryRow(ctx, queries.Get("insert-enrolment"), e.Journey, e.Version, e.Profile, e.Status, e.Step, e.State,
				nullTimestamp(e.DueAt), e.EnteredAt, e.UpdatedAt, nullTimestamp(e.EndedAt), e.Reason).Scan(&e.ID); err != nil {
				return fmt.Errorf("insert enrolment: %w", err)
			}
		}
		q := new(statements)
		for _, e := range b.Update {
			q.add("update-enrolment", e.Status, e.Step, e.State, nullTimestamp(e.DueAt), e.UpdatedAt, nullTimestamp(e.EndedAt), e.Reason, e.ID, b.Owner, e.Profile, e.Version)
		}
		for _, l := range b.Log {
			e := l.Enrolment
			q.add("insert-journey-log", e.Journey, e.Version, e.ID, e.Profile, l.Step, l.Kind, l.Outcome, l.Channel, l.At)
		}
		if b.Checkpoint > 0 {
			q.add("advance-checkpoint", b.Consumer, b.Checkpoint)
		}
		return q.run(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("postgres: apply journeys: %w", err)
	}
	return nil
}

// ActiveEnrolments pages the active enrolments of a journey version.
func (s *Store) ActiveEnrolments(ctx context.Context, journey string, version int, after int64, limit int) ([]*store.Enrolment, error) {
	rows, err := s.pool.Query(ctx, queries.Get("active-enrolments"), journey, version, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: active enrolments: %w", err)
	}
	out, err := collectEnrolments(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: active enrolments: %w", err)
	}
	return out, nil
}

// EnrolmentCounts counts a journey's enrolments by status.
func (s *Store) EnrolmentCounts(ctx context.Context, journey string) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, queries.Get("enrolment-counts"), journey)
	if err != nil {
		return nil, fmt.Errorf("postgres: enrolment counts: %w", err)
	}
	out := map[string]int64{}
	var st string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&st, &n}, func() error { out[st] = n; return nil }); err != nil {
		return nil, fmt.Errorf("postgres: enrolment counts: %w", err)
	}
	return out, nil
}

// JourneyStats counts what the step log recorded for a journey.
func (s *Store) JourneyStats(ctx context.Context, journey string) (*store.JourneyStats, error) {
	out := store.NewJourneyStats(journey)
	var err error
	if out.Enrolments, err = s.EnrolmentCounts(ctx, journey); err != nil {
		return nil, err
	}
	for _, n := range out.Enrolments {
		out.Entered += n
	}
	scan := func(name string, dest []any, each func()) error {
		rows, err := s.pool.Query(ctx, queries.Get(name), journey)
		if err != nil {
			return fmt.Errorf("postgres: journey stats: %s: %w", name, err)
		}
		if _, err := pgx.ForEachRow(rows, dest, func() error { each(); return nil }); err != nil {
			return fmt.Errorf("postgres: journey stats: %s: %w", name, err)
		}
		return nil
	}
	var key string
	var n int64
	if err := scan("journey-sent", []any{&key, &n}, func() { out.Handed[key] = n }); err != nil {
		return nil, err
	}
	var channel string
	if err := scan("journey-messages", []any{&key, &channel, &n}, func() { out.AddMessages(key, channel, n) }); err != nil {
		return nil, err
	}
	if err := scan("journey-exits", []any{&key, &n}, func() { out.Exits[key] += n }); err != nil {
		return nil, err
	}
	var c store.StepCount
	if err := scan("journey-step-counts", []any{&c.Version, &c.Step, &c.Kind, &c.Outcome, &c.Count},
		func() { out.Steps = append(out.Steps, c) }); err != nil {
		return nil, err
	}
	var v store.VariantCount
	if err := scan("journey-variants", []any{&v.Version, &v.Step, &v.Variant, &v.Status, &v.Count},
		func() { out.Variants = append(out.Variants, v) }); err != nil {
		return nil, err
	}
	if err := scan("journey-converted", []any{&n}, func() { out.Converted = n }); err != nil {
		return nil, err
	}
	out.ABResults = []store.VariantResult{}
	var r store.VariantResult
	if err := scan("journey-variant-results", []any{&r.Version, &r.Step, &r.Variant, &r.Entered, &r.Converted},
		func() { out.ABResults = append(out.ABResults, r) }); err != nil {
		return nil, err
	}
	store.FinishStats(out)
	return out, nil
}

// ReleaseEnrolmentLeases ends the leases owner holds after now.
func (s *Store) ReleaseEnrolmentLeases(ctx context.Context, owner string, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("release-enrolment-leases"), owner, now)
	if err != nil {
		return 0, fmt.Errorf("postgres: release enrolment leases: %w", err)
	}
	return tag.RowsAffected(), nil
}
