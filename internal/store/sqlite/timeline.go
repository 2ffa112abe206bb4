package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store"
)

// Timeline returns a profile's events, newest first.
func (s *Store) Timeline(ctx context.Context, q store.TimelineQuery) ([]*event.Event, error) {
	w := &store.Where{Placeholder: store.QuestionMark}
	w.Add("p.profile_id = ?", q.Profile)
	w.Eq("e.type", string(q.Type))
	w.Eq("e.event", q.Event)
	w.Eq("e.source_id", q.SourceID)
	if q.Channel != "" {
		w.Add("json_extract(e.body, '$.channel') = ?", q.Channel)
	}
	if !q.Since.IsZero() {
		w.Add("p.ts >= ?", micros(q.Since))
	}
	if !q.Until.IsZero() {
		w.Add("p.ts < ?", micros(q.Until))
	}
	if !q.BeforeAt.IsZero() {
		w.Add("(p.ts < ? OR (p.ts = ? AND p.seq < ?))", micros(q.BeforeAt), micros(q.BeforeAt), q.BeforeSeq)
	}
	where, args, marks := w.SQL(store.FeedPage.Size(q.Limit))
	rows, err := s.r.QueryContext(ctx, `SELECT e.seq, e.body FROM profile_events p JOIN events e ON e.seq = p.seq`+
		where+` ORDER BY p.ts DESC, p.seq DESC LIMIT `+marks[0], args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: timeline: %w", err)
	}
	return scanEvents(rows)
}

// ProfileSeqs returns the log positions of a profile's events.
func (s *Store) ProfileSeqs(ctx context.Context, profileID int64) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("profile-seqs"), profileID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: profile events: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, fmt.Errorf("sqlite: profile events: %w", err)
		}
		out = append(out, seq)
	}
	return out, rows.Err()
}

// MergeLog returns the merges a profile took part in.
func (s *Store) MergeLog(ctx context.Context, profileID int64) ([]store.MergeRecord, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("merge-log"), profileID, profileID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: merge log: %w", err)
	}
	defer rows.Close()
	var out []store.MergeRecord
	for rows.Next() {
		var m store.MergeRecord
		var at int64
		var ids string
		var undone sql.NullInt64
		if err := rows.Scan(&m.ID, &at, &m.EventSeq, &m.Profile, &m.Merged, &ids, &undone); err != nil {
			return nil, fmt.Errorf("sqlite: merge log: %w", err)
		}
		m.At, m.UndoneAt = fromMicros(at), nullMicros(undone)
		if err := json.Unmarshal([]byte(ids), &m.Identifiers); err != nil {
			return nil, fmt.Errorf("sqlite: merge log %d: %w", m.ID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Refusals returns a profile's refused identifiers, newest first.
func (s *Store) Refusals(ctx context.Context, profileID int64, limit int) ([]store.RefusalRecord, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("refusals"), profileID, store.ListPage.Size(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: refusals: %w", err)
	}
	defer rows.Close()
	var out []store.RefusalRecord
	for rows.Next() {
		var r store.RefusalRecord
		var at int64
		var kind string
		if err := rows.Scan(&r.ID, &at, &r.EventSeq, &r.Profile, &kind, &r.Identifier.Value, &r.Holder, &r.Reason); err != nil {
			return nil, fmt.Errorf("sqlite: refusals: %w", err)
		}
		r.At, r.Identifier.Kind = fromMicros(at), identity.Kind(kind)
		out = append(out, r)
	}
	return out, rows.Err()
}
