package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// SaveJourney inserts or replaces a journey, keeping each version.
func (s *Store) SaveJourney(ctx context.Context, j *store.JourneyRecord) error {
	if j.UpdatedAt.IsZero() {
		j.UpdatedAt = time.Now().UTC()
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: save journey %s: %w", j.ID, err)
	}
	defer tx.Rollback()
	var created int64
	if err := tx.QueryRowContext(ctx, queries.Get("upsert-journey"), j.ID, string(j.Definition), j.Status,
		micros(j.UpdatedAt), micros(j.UpdatedAt)).Scan(&j.Version, &created); err != nil {
		return fmt.Errorf("sqlite: save journey %s: %w", j.ID, err)
	}
	if _, err := tx.ExecContext(ctx, queries.Get("insert-journey-version"), j.ID, j.Version, string(j.Definition), micros(j.UpdatedAt)); err != nil {
		return fmt.Errorf("sqlite: save journey %s: version: %w", j.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: save journey %s: commit: %w", j.ID, err)
	}
	j.CreatedAt = fromMicros(created)
	return nil
}

func scanJourney(sc interface{ Scan(...any) error }) (*store.JourneyRecord, error) {
	var j store.JourneyRecord
	var def string
	var created, updated int64
	if err := sc.Scan(&j.ID, &j.Version, &def, &j.Status, &created, &updated); err != nil {
		return nil, err
	}
	j.Definition, j.CreatedAt, j.UpdatedAt = []byte(def), fromMicros(created), fromMicros(updated)
	return &j, nil
}

// ListJourneys returns the latest version of every journey, by id.
func (s *Store) ListJourneys(ctx context.Context) ([]*store.JourneyRecord, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("list-journeys"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list journeys: %w", err)
	}
	defer rows.Close()
	var out []*store.JourneyRecord
	for rows.Next() {
		j, err := scanJourney(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list journeys: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// JourneyVersion returns one version of a journey (0: the latest).
func (s *Store) JourneyVersion(ctx context.Context, id string, version int) (*store.JourneyRecord, error) {
	j, err := scanJourney(s.r.QueryRowContext(ctx, queries.Get("journey-version"), id, version, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("journey", fmt.Sprintf("%s version %d", id, version))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: journey %s version %d: %w", id, version, err)
	}
	return j, nil
}

// SetJourneyStatus changes a journey's status; archiving ends its active
// enrolments.
func (s *Store) SetJourneyStatus(ctx context.Context, id, status string, at time.Time) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: journey %s status: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, queries.Get("set-journey-status"), status, micros(at), id)
	if err != nil {
		return fmt.Errorf("sqlite: journey %s status: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.NotFound("journey", id)
	}
	if status == "archived" {
		if _, err := tx.ExecContext(ctx, queries.Get("archive-enrolments"), micros(at), micros(at), id); err != nil {
			return fmt.Errorf("sqlite: journey %s: end enrolments: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: journey %s status: commit: %w", id, err)
	}
	return nil
}

func scanEnrolment(sc interface{ Scan(...any) error }) (*store.Enrolment, error) {
	var e store.Enrolment
	var due, ended sql.NullInt64
	var entered, updated int64
	if err := sc.Scan(&e.ID, &e.Journey, &e.Version, &e.Profile, &e.Status, &e.Step, &e.State, &due,
		&entered, &updated, &ended, &e.Reason); err != nil {
		return nil, err
	}
	e.DueAt, e.EndedAt = nullMicros(due), nullMicros(ended)
	e.EnteredAt, e.UpdatedAt = fromMicros(entered), fromMicros(updated)
	return &e, nil
}

// ProfileEnrolments returns every enrolment of the profiles.
func (s *Store) ProfileEnrolments(ctx context.Context, profiles []int64) ([]*store.Enrolment, error) {
	var out []*store.Enrolment
	if len(profiles) == 0 {
		return out, nil
	}
	stmt, err := s.r.PrepareContext(ctx, queries.Get("profile-enrolments"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: profile enrolments: %w", err)
	}
	defer stmt.Close()
	for _, id := range profiles {
		rows, err := stmt.QueryContext(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("sqlite: enrolments of %d: %w", id, err)
		}
		for rows.Next() {
			e, err := scanEnrolment(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: enrolments of %d: %w", id, err)
			}
			out = append(out, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: enrolments of %d: %w", id, err)
		}
	}
	return out, nil
}

// ClaimDueEnrolments leases due enrolments to owner. The single writer
// connection makes the select and the lease one atomic step.
func (s *Store) ClaimDueEnrolments(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int) ([]*store.Enrolment, error) {
	rows, err := s.w.QueryContext(ctx, queries.Get("claim-due-enrolments"), owner, micros(now.Add(lease)), micros(now), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim due enrolments: %w", err)
	}
	defer rows.Close()
	var out []*store.Enrolment
	for rows.Next() {
		e, err := scanEnrolment(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: claim due enrolments: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ApplyJourneys writes one batch of the journey engine in one transaction.
func (s *Store) ApplyJourneys(ctx context.Context, b *store.JourneyBatch) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: apply journeys: %w", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, queries.Get("insert-enrolment"))
	if err != nil {
		return fmt.Errorf("sqlite: apply journeys: %w", err)
	}
	defer ins.Close()
	for _, e := range b.Insert {
		if err := ins.QueryRowContext(ctx, e.Journey, e.Version, e.Profile, e.Status, e.Step, e.State, nullTime(e.DueAt),
			micros(e.EnteredAt), micros(e.UpdatedAt), nullTime(e.EndedAt), e.Reason).Scan(&e.ID); err != nil {
			return fmt.Errorf("sqlite: apply journeys: insert enrolment: %w", err)
		}
	}
	if err := execEach(ctx, tx, "update-enrolment", len(b.Update), func(i int) ([]any, error) {
		e := b.Update[i]
		return []any{e.Profile, e.Version, e.Status, e.Step, e.State, nullTime(e.DueAt), micros(e.UpdatedAt), nullTime(e.EndedAt), e.Reason, e.ID, b.Owner, b.Owner}, nil
	}); err != nil {
		return fmt.Errorf("sqlite: apply journeys: %w", err)
	}
	if err := execEach(ctx, tx, "insert-journey-log", len(b.Log), func(i int) ([]any, error) {
		l, e := b.Log[i], b.Log[i].Enrolment
		return []any{e.Journey, e.Version, e.ID, e.Profile, l.Step, l.Kind, l.Outcome, l.Channel, micros(l.At)}, nil
	}); err != nil {
		return fmt.Errorf("sqlite: apply journeys: %w", err)
	}
	if b.Checkpoint > 0 {
		if _, err := tx.ExecContext(ctx, queries.Get("advance-checkpoint"), b.Consumer, b.Checkpoint, micros(b.At)); err != nil {
			return fmt.Errorf("sqlite: apply journeys: checkpoint: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: apply journeys: commit: %w", err)
	}
	return nil
}

// ActiveEnrolments pages the active enrolments of a journey version.
func (s *Store) ActiveEnrolments(ctx context.Context, journey string, version int, after int64, limit int) ([]*store.Enrolment, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("active-enrolments"), journey, version, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: active enrolments: %w", err)
	}
	defer rows.Close()
	var out []*store.Enrolment
	for rows.Next() {
		e, err := scanEnrolment(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: active enrolments: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EnrolmentCounts counts a journey's enrolments by status.
func (s *Store) EnrolmentCounts(ctx context.Context, journey string) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("enrolment-counts"), journey)
	if err != nil {
		return nil, fmt.Errorf("sqlite: enrolment counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("sqlite: enrolment counts: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
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
	scan := func(name string, dest func() []any, each func()) error {
		rows, err := s.r.QueryContext(ctx, queries.Get(name), journey)
		if err != nil {
			return fmt.Errorf("sqlite: journey stats: %s: %w", name, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(dest()...); err != nil {
				return fmt.Errorf("sqlite: journey stats: %s: %w", name, err)
			}
			each()
		}
		return rows.Err()
	}
	var key string
	var n int64
	if err := scan("journey-sent", func() []any { return []any{&key, &n} }, func() { out.Handed[key] = n }); err != nil {
		return nil, err
	}
	var channel string
	if err := scan("journey-messages", func() []any { return []any{&key, &channel, &n} }, func() { out.AddMessages(key, channel, n) }); err != nil {
		return nil, err
	}
	if err := scan("journey-exits", func() []any { return []any{&key, &n} }, func() { out.Exits[key] += n }); err != nil {
		return nil, err
	}
	var c store.StepCount
	if err := scan("journey-step-counts", func() []any { return []any{&c.Version, &c.Step, &c.Kind, &c.Outcome, &c.Count} },
		func() { out.Steps = append(out.Steps, c) }); err != nil {
		return nil, err
	}
	var v store.VariantCount
	if err := scan("journey-variants", func() []any { return []any{&v.Version, &v.Step, &v.Variant, &v.Status, &v.Count} },
		func() { out.Variants = append(out.Variants, v) }); err != nil {
		return nil, err
	}
	if err := scan("journey-converted", func() []any { return []any{&n} }, func() { out.Converted = n }); err != nil {
		return nil, err
	}
	out.ABResults = []store.VariantResult{}
	var r store.VariantResult
	if err := scan("journey-variant-results", func() []any { return []any{&r.Version, &r.Step, &r.Variant, &r.Entered, &r.Converted} },
		func() { out.ABResults = append(out.ABResults, r) }); err != nil {
		return nil, err
	}
	store.FinishStats(out)
	return out, nil
}

// ReleaseEnrolmentLeases ends the leases owner holds after now.
func (s *Store) ReleaseEnrolmentLeases(ctx context.Context, owner string, now time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("release-enrolment-leases"), owner, micros(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: release enrolment leases: %w", err)
	}
	return res.RowsAffected()
}
