package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// Timeline returns a profile's events, newest first.
func (s *Store) Timeline(ctx context.Context, q store.TimelineQuery) ([]*event.Event, error) {
	w := &store.Where{Placeholder: store.Dollar, Time: func(t time.Time) any { return t }}
	w.Add("p.profile_id = ?", q.Profile)
	w.Eq("e.type", string(q.Type))
	w.Eq("e.event", q.Event)
	w.Eq("e.source_id", q.SourceID)
	// The events table has no channel column: the channel is in the body.
	w.Eq("e.body->>'channel'", q.Channel)
	if !q.Since.IsZero() {
		w.Add("p.ts >= ?", q.Since)
	}
	if !q.Until.IsZero() {
		w.Add("p.ts < ?", q.Until)
	}
	if !q.BeforeAt.IsZero() {
		w.Add("(p.ts, p.seq) < (?, ?)", q.BeforeAt, q.BeforeSeq)
	}
	where, args, marks := w.SQL(store.FeedPage.Size(q.Limit))
	rows, err := s.pool.Query(ctx, `SELECT e.seq, e.body FROM profile_events p JOIN events e ON e.seq = p.seq`+
		where+` ORDER BY p.ts DESC, p.seq DESC LIMIT `+marks[0], args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: timeline: %w", err)
	}
	return scanEvents(rows)
}

// ProfileSeqs returns the log positions of a profile's events.
func (s *Store) ProfileSeqs(ctx context.Context, profileID int64) ([]int64, error) {
	rows, err := s.pool.Query(ctx, queries.Get("profile-seqs"), profileID)
	if err != nil {
		return nil, fmt.Errorf("postgres: profile events: %w", err)
	}
	seqs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: profile events: %w", err)
	}
	return seqs, nil
}

// MergeLog returns the merges a profile took part in, oldest first.
func (s *Store) MergeLog(ctx context.Context, profileID int64) ([]store.MergeRecord, error) {
	rows, err := s.pool.Query(ctx, queries.Get("merge-log"), profileID)
	if err != nil {
		return nil, fmt.Errorf("postgres: merge log: %w", err)
	}
	var out []store.MergeRecord
	var m store.MergeRecord
	var ids []byte
	var undone *time.Time
	if _, err := pgx.ForEachRow(rows, []any{&m.ID, &m.At, &m.EventSeq, &m.Profile, &m.Merged, &ids, &undone}, func() error {
		r := m
		r.At, r.Identifiers, r.UndoneAt = r.At.UTC(), nil, time.Time{}
		if undone != nil { // NULL stays the zero time: not undone
			r.UndoneAt = undone.UTC()
		}
		if err := json.Unmarshal(ids, &r.Identifiers); err != nil {
			return fmt.Errorf("merge %d: %w", r.ID, err)
		}
		out = append(out, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: merge log: %w", err)
	}
	return out, nil
}

// Refusals returns a profile's refused identifiers, newest first.
func (s *Store) Refusals(ctx context.Context, profileID int64, limit int) ([]store.RefusalRecord, error) {
	rows, err := s.pool.Query(ctx, queries.Get("refusals"), profileID, store.ListPage.Size(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: refusals: %w", err)
	}
	var out []store.RefusalRecord
	var r store.RefusalRecord
	if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.At, &r.EventSeq, &r.Profile,
		&r.Identifier.Kind, &r.Identifier.Value, &r.Holder, &r.Reason}, func() error {
		rc := r
		rc.At = rc.At.UTC()
		out = append(out, rc)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: refusals: %w", err)
	}
	return out, nil
}
