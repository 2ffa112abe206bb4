package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

func scanTask(sc interface{ Scan(...any) error }) (*store.Task, error) {
	var t store.Task
	var detail sql.NullString
	var created int64
	var done sql.NullInt64
	if err := sc.Scan(&t.ID, &t.Key, &t.StoreID, &t.ProfileID, &t.JourneyID, &t.Title, &t.Note, &t.Status, &detail, &created, &done); err != nil {
		return nil, err
	}
	if detail.Valid {
		t.Detail = []byte(detail.String)
	}
	t.CreatedAt, t.DoneAt = fromMicros(created), nullMicros(done)
	return &t, nil
}

// CreateTask stores a task once per key.
func (s *Store) CreateTask(ctx context.Context, t *store.Task) (bool, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("insert-task"), t.Key, t.StoreID, t.ProfileID, t.JourneyID, t.Title, t.Note,
		t.Status, nullString(string(t.Detail)), micros(t.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("sqlite: create task %s: %w", t.Key, err)
	}
	n, _ := res.RowsAffected()
	got, err := scanTask(s.w.QueryRowContext(ctx, queries.Get("task-by-key"), t.Key))
	if err != nil {
		return false, fmt.Errorf("sqlite: create task %s: %w", t.Key, err)
	}
	*t = *got
	return n > 0, nil
}

// Task returns one task.
func (s *Store) Task(ctx context.Context, id int64) (*store.Task, error) {
	t, err := scanTask(s.r.QueryRowContext(ctx, queries.Get("task"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("task", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: task %d: %w", id, err)
	}
	return t, nil
}

// ListTasks returns the tasks q selects, by id.
func (s *Store) ListTasks(ctx context.Context, q store.TaskQuery) ([]*store.Task, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	var rows *sql.Rows
	var err error
	if q.ProfileID != 0 {
		rows, err = s.r.QueryContext(ctx, queries.Get("list-profile-tasks"), q.ProfileID, q.StoreID, q.StoreID, q.Status, q.Status, q.After, q.Limit)
	} else {
		rows, err = s.r.QueryContext(ctx, queries.Get("list-tasks"), q.StoreID, q.StoreID, q.Status, q.Status, q.After, q.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tasks: %w", err)
	}
	defer rows.Close()
	out := []*store.Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list tasks: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// SetTaskStatus marks a task done (or open again).
func (s *Store) SetTaskStatus(ctx context.Context, id int64, status string, at time.Time) (*store.Task, error) {
	done := sql.NullInt64{}
	if status == store.TaskDone {
		done = nullTime(at)
	}
	res, err := s.w.ExecContext(ctx, queries.Get("set-task-status"), status, done, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: task %d status: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, problem.NotFound("task", id)
	}
	t, err := scanTask(s.w.QueryRowContext(ctx, queries.Get("task"), id))
	if err != nil {
		return nil, fmt.Errorf("sqlite: task %d: %w", id, err)
	}
	return t, nil
}

// SetDateTimers writes date_trait timers (a zero Due deletes).
func (s *Store) SetDateTimers(ctx context.Context, ts []store.DateTimer, keep time.Time) error {
	if len(ts) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: date timers: %w", err)
	}
	defer tx.Rollback()
	kept := int64(math.MinInt64)
	if !keep.IsZero() {
		kept = micros(keep)
	}
	for _, t := range ts {
		if t.Due.IsZero() {
			_, err = tx.ExecContext(ctx, queries.Get("delete-date-timer"), t.Journey, t.Trigger, t.Profile, kept)
		} else {
			_, err = tx.ExecContext(ctx, queries.Get("upsert-date-timer"), t.Journey, t.Trigger, t.Profile, micros(t.Due), t.Occurrence, kept)
		}
		if err != nil {
			return fmt.Errorf("sqlite: date timers: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: date timers: commit: %w", err)
	}
	return nil
}

// DueDateTimers returns the due timers of live journeys, earliest first.
func (s *Store) DueDateTimers(ctx context.Context, until time.Time, limit int) ([]store.DateTimer, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("due-date-timers"), micros(until), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: due date timers: %w", err)
	}
	defer rows.Close()
	var out []store.DateTimer
	for rows.Next() {
		var t store.DateTimer
		var due int64
		if err := rows.Scan(&t.Journey, &t.Trigger, &t.Profile, &due, &t.Occurrence); err != nil {
			return nil, fmt.Errorf("sqlite: due date timers: %w", err)
		}
		t.Due = fromMicros(due)
		out = append(out, t)
	}
	return out, rows.Err()
}
