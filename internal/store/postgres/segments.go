package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// SaveSegment inserts or replaces a segment definition.
func (s *Store) SaveSegment(ctx context.Context, r *store.SegmentRecord) error {
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now().UTC()
	}
	err := s.pool.QueryRow(ctx, queries.Get("upsert-segment"), r.ID, string(r.Definition), r.Status, r.UpdatedAt).
		Scan(&r.Version, &r.CreatedAt)
	if err != nil {
		return fmt.Errorf("postgres: save segment %s: %w", r.ID, err)
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return nil
}

// ListSegments returns every segment definition, by id.
func (s *Store) ListSegments(ctx context.Context) ([]*store.SegmentRecord, error) {
	rows, err := s.pool.Query(ctx, queries.Get("list-segments"))
	if err != nil {
		return nil, fmt.Errorf("postgres: list segments: %w", err)
	}
	var out []*store.SegmentRecord
	var r store.SegmentRecord
	var def string
	if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.Version, &def, &r.Status, &r.CreatedAt, &r.UpdatedAt}, func() error {
		c := r
		c.Definition, c.CreatedAt, c.UpdatedAt = []byte(def), r.CreatedAt.UTC(), r.UpdatedAt.UTC()
		out = append(out, &c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: list segments: %w", err)
	}
	return out, nil
}

// SegmentStates returns the stored states of the profiles that have one.
func (s *Store) SegmentStates(ctx context.Context, profiles []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(profiles))
	if len(profiles) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, queries.Get("segment-states"), profiles)
	if err != nil {
		return nil, fmt.Errorf("postgres: segment states: %w", err)
	}
	var id int64
	var state []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &state}, func() error {
		out[id] = slices.Clone(state)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: segment states: %w", err)
	}
	return out, nil
}

// ApplySegments writes one batch of the segment stage in one transaction.
func (s *Store) ApplySegments(ctx context.Context, b *store.SegmentBatch) error {
	q := new(statements)
	for id, st := range b.States {
		q.add("upsert-segment-state", id, st)
	}
	for _, id := range b.Deleted {
		q.add("delete-segment-state", id)
		q.add("delete-segment-timer", id)
	}
	for _, c := range b.Changes {
		if c.Entered {
			q.add("insert-segment-member", c.Segment, c.Profile, c.At)
		} else {
			q.add("delete-segment-member", c.Segment, c.Profile)
		}
		q.add("insert-segment-history", c.Segment, c.Profile, c.Entered, c.At, c.Reason)
	}
	for id, due := range b.Timers {
		if due.IsZero() {
			q.add("delete-segment-timer", id)
		} else {
			q.add("upsert-segment-timer", id, due)
		}
	}
	day := b.At.UTC().Truncate(24 * time.Hour)
	for seg, n := range b.Sizes {
		q.add("upsert-segment-count", seg, day, n)
	}
	if b.Checkpoint > 0 {
		q.add("advance-checkpoint", b.Consumer, b.Checkpoint)
	}
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return q.run(ctx, tx) }); err != nil {
		return fmt.Errorf("postgres: apply segments: %w", err)
	}
	return nil
}

// DueSegmentTimers returns the profiles whose timer is due.
func (s *Store) DueSegmentTimers(ctx context.Context, until time.Time, limit int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, queries.Get("due-segment-timers"), until, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: due segment timers: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: due segment timers: %w", err)
	}
	return ids, nil
}

// SegmentMembers pages a segment's members by profile id.
func (s *Store) SegmentMembers(ctx context.Context, segment string, after int64, limit int) ([]store.SegmentMember, error) {
	rows, err := s.pool.Query(ctx, queries.Get("segment-members"), segment, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: segment members: %w", err)
	}
	var out []store.SegmentMember
	var m store.SegmentMember
	if _, err := pgx.ForEachRow(rows, []any{&m.Profile, &m.Since}, func() error {
		out = append(out, store.SegmentMember{Profile: m.Profile, Since: m.Since.UTC()})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: segment members: %w", err)
	}
	return out, nil
}

// SegmentSizes counts each segment's members.
func (s *Store) SegmentSizes(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, queries.Get("segment-sizes"))
	if err != nil {
		return nil, fmt.Errorf("postgres: segment sizes: %w", err)
	}
	out := map[string]int64{}
	var id string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { out[id] = n; return nil }); err != nil {
		return nil, fmt.Errorf("postgres: segment sizes: %w", err)
	}
	return out, nil
}

// SegmentCounts returns a segment's size per day.
func (s *Store) SegmentCounts(ctx context.Context, segment string) ([]store.SegmentCount, error) {
	rows, err := s.pool.Query(ctx, queries.Get("segment-counts"), segment)
	if err != nil {
		return nil, fmt.Errorf("postgres: segment counts: %w", err)
	}
	var out []store.SegmentCount
	var c store.SegmentCount
	if _, err := pgx.ForEachRow(rows, []any{&c.Day, &c.Size}, func() error {
		out = append(out, store.SegmentCount{Day: c.Day.UTC(), Size: c.Size})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: segment counts: %w", err)
	}
	return out, nil
}

// SegmentHistory returns membership changes, newest first.
func (s *Store) SegmentHistory(ctx context.Context, q store.SegmentHistoryQuery) ([]store.SegmentChange, error) {
	w := &store.Where{Placeholder: store.Dollar, Time: func(t time.Time) any { return t }}
	w.Eq("segment_id", q.Segment)
	if q.Profile != 0 {
		w.Add("profile_id = ?", q.Profile)
	}
	if q.Before > 0 {
		w.Add("id < ?", q.Before)
	}
	where, args, marks := w.SQL(store.ListPage.Size(q.Limit))
	rows, err := s.pool.Query(ctx, `SELECT id, segment_id, profile_id, entered, at, reason FROM segment_history`+
		where+` ORDER BY id DESC LIMIT `+marks[0], args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: segment history: %w", err)
	}
	var out []store.SegmentChange
	var c store.SegmentChange
	if _, err := pgx.ForEachRow(rows, []any{&c.ID, &c.Segment, &c.Profile, &c.Entered, &c.At, &c.Reason}, func() error {
		x := c
		x.At = c.At.UTC()
		out = append(out, x)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: segment history: %w", err)
	}
	return out, nil
}

// ResetSegments deletes what the segment stage derived, and its checkpoint.
func (s *Store) ResetSegments(ctx context.Context, consumer string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, queries.Get("reset-segments")); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, queries.Get("reset-segments-checkpoint"), consumer)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: reset segments: %w", err)
	}
	return nil
}

// ProfileEvents returns the events of a range of profiles' timelines.
func (s *Store) ProfileEvents(ctx context.Context, from, to int64, names []string) ([]store.ProfileEvent, error) {
	q := `SELECT p.profile_id, e.seq, e.body FROM profile_events p JOIN events e ON e.seq = p.seq
		WHERE p.profile_id BETWEEN $1 AND $2`
	args := []any{from, to}
	if names != nil {
		if len(names) == 0 {
			return nil, nil
		}
		q += ` AND e.type = 'track' AND e.event = ANY($3)`
		args = append(args, names)
	}
	rows, err := s.pool.Query(ctx, q+" ORDER BY p.profile_id", args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: profile events: %w", err)
	}
	var out []store.ProfileEvent
	var pid, seq int64
	var body []byte
	if _, err := pgx.ForEachRow(rows, []any{&pid, &seq, &body}, func() error {
		e := new(event.Event)
		if err := event.Unmarshal(body, e); err != nil {
			return fmt.Errorf("event %d: %w", seq, err)
		}
		e.Seq = seq
		out = append(out, store.ProfileEvent{Profile: pid, Event: e})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: profile events: %w", err)
	}
	return out, nil
}
