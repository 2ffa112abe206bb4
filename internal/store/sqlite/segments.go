package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// SaveSegment inserts or replaces a segment definition.
func (s *Store) SaveSegment(ctx context.Context, r *store.SegmentRecord) error {
	now := time.Now().UTC()
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = now
	}
	var created int64
	err := s.w.QueryRowContext(ctx, queries.Get("upsert-segment"), r.ID, string(r.Definition), r.Status,
		micros(r.UpdatedAt), micros(r.UpdatedAt)).Scan(&r.Version, &created)
	if err != nil {
		return fmt.Errorf("sqlite: save segment %s: %w", r.ID, err)
	}
	r.CreatedAt = fromMicros(created)
	return nil
}

// ListSegments returns every segment definition, by id.
func (s *Store) ListSegments(ctx context.Context) ([]*store.SegmentRecord, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("list-segments"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list segments: %w", err)
	}
	defer rows.Close()
	var out []*store.SegmentRecord
	for rows.Next() {
		var r store.SegmentRecord
		var def string
		var created, updated int64
		if err := rows.Scan(&r.ID, &r.Version, &def, &r.Status, &created, &updated); err != nil {
			return nil, fmt.Errorf("sqlite: list segments: %w", err)
		}
		r.Definition, r.CreatedAt, r.UpdatedAt = []byte(def), fromMicros(created), fromMicros(updated)
		out = append(out, &r)
	}
	return out, rows.Err()
}

// SegmentStates returns the stored states of the profiles that have one.
func (s *Store) SegmentStates(ctx context.Context, profiles []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(profiles))
	if len(profiles) == 0 {
		return out, nil
	}
	stmt, err := s.r.PrepareContext(ctx, queries.Get("segment-state"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: segment states: %w", err)
	}
	defer stmt.Close()
	for _, id := range profiles {
		var b []byte
		switch err := stmt.QueryRowContext(ctx, id).Scan(&b); err {
		case nil:
			out[id] = b
		case sql.ErrNoRows:
		default:
			return nil, fmt.Errorf("sqlite: segment state of %d: %w", id, err)
		}
	}
	return out, nil
}

// ApplySegments writes one batch of the segment stage in one transaction.
func (s *Store) ApplySegments(ctx context.Context, b *store.SegmentBatch) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: apply segments: %w", err)
	}
	defer tx.Rollback()
	if err := applySegments(ctx, tx, b); err != nil {
		return fmt.Errorf("sqlite: apply segments: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: apply segments: commit: %w", err)
	}
	return nil
}

func applySegments(ctx context.Context, tx preparer, b *store.SegmentBatch) error {
	ids := make([]int64, 0, len(b.States))
	for id := range b.States {
		ids = append(ids, id)
	}
	if err := execEach(ctx, tx, "upsert-segment-state", len(ids), func(i int) ([]any, error) {
		return []any{ids[i], b.States[ids[i]]}, nil
	}); err != nil {
		return err
	}
	if err := execEach(ctx, tx, "delete-segment-state", len(b.Deleted), func(i int) ([]any, error) {
		return []any{b.Deleted[i]}, nil
	}); err != nil {
		return err
	}
	if err := execEach(ctx, tx, "delete-segment-timer", len(b.Deleted), func(i int) ([]any, error) {
		return []any{b.Deleted[i]}, nil
	}); err != nil {
		return err
	}
	for _, c := range b.Changes {
		q, args := "delete-segment-member", []any{c.Segment, c.Profile}
		if c.Entered {
			q, args = "insert-segment-member", []any{c.Segment, c.Profile, micros(c.At)}
		}
		if _, err := tx.ExecContext(ctx, queries.Get(q), args...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if err := execEach(ctx, tx, "insert-segment-history", len(b.Changes), func(i int) ([]any, error) {
		c := b.Changes[i]
		return []any{c.Segment, c.Profile, c.Entered, micros(c.At), c.Reason}, nil
	}); err != nil {
		return err
	}
	for id, due := range b.Timers {
		q, args := "delete-segment-timer", []any{id}
		if !due.IsZero() {
			q, args = "upsert-segment-timer", []any{id, micros(due)}
		}
		if _, err := tx.ExecContext(ctx, queries.Get(q), args...); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	day := micros(b.At.UTC().Truncate(24 * time.Hour))
	for seg, n := range b.Sizes {
		if _, err := tx.ExecContext(ctx, queries.Get("upsert-segment-count"), seg, day, n); err != nil {
			return fmt.Errorf("upsert-segment-count: %w", err)
		}
	}
	if b.Checkpoint > 0 {
		if _, err := tx.ExecContext(ctx, queries.Get("advance-checkpoint"), b.Consumer, b.Checkpoint, micros(b.At)); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	return nil
}

// DueSegmentTimers returns the profiles whose timer is due.
func (s *Store) DueSegmentTimers(ctx context.Context, until time.Time, limit int) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("due-segment-timers"), micros(until), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due segment timers: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: due segment timers: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// SegmentMembers pages a segment's members by profile id.
func (s *Store) SegmentMembers(ctx context.Context, segment string, after int64, limit int) ([]store.SegmentMember, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("segment-members"), segment, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: segment members: %w", err)
	}
	defer rows.Close()
	var out []store.SegmentMember
	for rows.Next() {
		var m store.SegmentMember
		var since int64
		if err := rows.Scan(&m.Profile, &since); err != nil {
			return nil, fmt.Errorf("sqlite: segment members: %w", err)
		}
		m.Since = fromMicros(since)
		out = append(out, m)
	}
	return out, rows.Err()
}

// SegmentSizes counts each segment's members.
func (s *Store) SegmentSizes(ctx context.Context) (map[string]int64, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("segment-sizes"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: segment sizes: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("sqlite: segment sizes: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// SegmentCounts returns a segment's size per day.
func (s *Store) SegmentCounts(ctx context.Context, segment string) ([]store.SegmentCount, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("segment-counts"), segment)
	if err != nil {
		return nil, fmt.Errorf("sqlite: segment counts: %w", err)
	}
	defer rows.Close()
	var out []store.SegmentCount
	for rows.Next() {
		var day int64
		var c store.SegmentCount
		if err := rows.Scan(&day, &c.Size); err != nil {
			return nil, fmt.Errorf("sqlite: segment counts: %w", err)
		}
		c.Day = fromMicros(day)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SegmentHistory returns membership changes, newest first.
func (s *Store) SegmentHistory(ctx context.Context, q store.SegmentHistoryQuery) ([]store.SegmentChange, error) {
	w := &store.Where{Placeholder: store.QuestionMark}
	w.Eq("segment_id", q.Segment)
	if q.Profile != 0 {
		w.Add("profile_id = ?", q.Profile)
	}
	if q.Before > 0 {
		w.Add("id < ?", q.Before)
	}
	where, args, marks := w.SQL(store.ListPage.Size(q.Limit))
	rows, err := s.r.QueryContext(ctx, `SELECT id, segment_id, profile_id, entered, at, reason FROM segment_history`+
		where+` ORDER BY id DESC LIMIT `+marks[0], args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: segment history: %w", err)
	}
	defer rows.Close()
	var out []store.SegmentChange
	for rows.Next() {
		var c store.SegmentChange
		var at int64
		if err := rows.Scan(&c.ID, &c.Segment, &c.Profile, &c.Entered, &at, &c.Reason); err != nil {
			return nil, fmt.Errorf("sqlite: segment history: %w", err)
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// ResetSegments deletes what the segment stage derived, and its checkpoint.
func (s *Store) ResetSegments(ctx context.Context, consumer string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: reset segments: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, queries.Get("reset-segments")); err != nil {
		return fmt.Errorf("sqlite: reset segments: %w", err)
	}
	if _, err := tx.ExecContext(ctx, queries.Get("reset-segments-checkpoint"), consumer); err != nil {
		return fmt.Errorf("sqlite: reset segments: %w", err)
	}
	return tx.Commit()
}

// ProfileEvents returns the events of a range of profiles' timelines.
func (s *Store) ProfileEvents(ctx context.Context, from, to int64, names []string) ([]store.ProfileEvent, error) {
	q := `SELECT p.profile_id, e.seq, e.body FROM profile_events p JOIN events e ON e.seq = p.seq
		WHERE p.profile_id BETWEEN ? AND ?`
	args := []any{from, to}
	if names != nil {
		if len(names) == 0 {
			return nil, nil
		}
		q += ` AND e.type = 'track' AND e.event IN (?` + strings.Repeat(",?", len(names)-1) + `)`
		for _, n := range names {
			args = append(args, n)
		}
	}
	rows, err := s.r.QueryContext(ctx, q+" ORDER BY p.profile_id", args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: profile events: %w", err)
	}
	defer rows.Close()
	var out []store.ProfileEvent
	for rows.Next() {
		var pe store.ProfileEvent
		var seq int64
		var body []byte
		if err := rows.Scan(&pe.Profile, &seq, &body); err != nil {
			return nil, fmt.Errorf("sqlite: profile events: %w", err)
		}
		pe.Event = new(event.Event)
		if err := event.Unmarshal(body, pe.Event); err != nil {
			return nil, fmt.Errorf("sqlite: event %d: %w", seq, err)
		}
		pe.Event.Seq = seq
		out = append(out, pe)
	}
	return out, rows.Err()
}
