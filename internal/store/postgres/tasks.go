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

func scanTask(row pgx.Row) (*store.Task, error) {
	var t store.Task
	var detail *string
	var done *time.Time
	if err := row.Scan(&t.ID, &t.Key, &t.StoreID, &t.ProfileID, &t.JourneyID, &t.Title, &t.Note, &t.Status, &detail, &t.CreatedAt, &done); err != nil {
		return nil, err
	}
	if detail != nil {
		t.Detail = []byte(*detail)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if done != nil {
		t.DoneAt = done.UTC()
	}
	return &t, nil
}

// CreateTask stores a task once per key.
func (s *Store) CreateTask(ctx context.Context, t *store.Task) (bool, error) {
	var detail *string
	if len(t.Detail) > 0 {
		d := string(t.Detail)
		detail = &d
	}
	tag, err := s.pool.Exec(ctx, queries.Get("insert-task"), t.Key, t.StoreID, t.ProfileID, t.JourneyID, t.Title, t.Note,
		t.Status, detail, t.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("postgres: create task %s: %w", t.Key, err)
	}
	got, err := scanTask(s.pool.QueryRow(ctx, queries.Get("task-by-key"), t.Key))
	if err != nil {
		return false, fmt.Errorf("postgres: create task %s: %w", t.Key, err)
	}
	*t = *got
	return tag.RowsAffected() > 0, nil
}

// Task returns one task.
func (s *Store) Task(ctx context.Context, id int64) (*store.Task, error) {
	t, err := scanTask(s.pool.QueryRow(ctx, queries.Get("task"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("task", id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: task %d: %w", id, err)
	}
	return t, nil
}

// ListTasks returns the tasks q selects, by id.
func (s *Store) ListTasks(ctx context.Context, q store.TaskQuery) ([]*store.Task, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	var rows pgx.Rows
	var err error
	if q.ProfileID != 0 {
		rows, err = s.pool.Query(ctx, queries.Get("list-profile-tasks"), q.ProfileID, q.StoreID, q.Status, q.After, q.Limit)
	} else {
		rows, err = s.pool.Query(ctx, queries.Get("list-tasks"), q.StoreID, q.Status, q.After, q.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: list tasks: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*store.Task, error) { return scanTask(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list tasks: %w", err)
	}
	if out == nil {
		out = []*store.Task{}
	}
	return out, nil
}

// SetTaskStatus marks a task done (or open again).
func (s *Store) SetTaskStatus(ctx context.Context, id int64, status string, at time.Time) (*store.Task, error) {
	var done *time.Time
	if status == store.TaskDone {
		done = &at
	}
	tag, err := s.pool.Exec(ctx, queries.Get("set-task-status"), status, done, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: task %d status: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return nil, problem.NotFound("task", id)
	}
	return s.Task(ctx, id)
}

// SetDateTimers writes date_trait timers (a zero Due deletes).
func (s *Store) SetDateTimers(ctx context.Context, ts []store.DateTimer, keep time.Time) error {
	if len(ts) == 0 {
		return nil
	}
	// A zero keep is 0001-01-01, before every timer.
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, t := range ts {
			var err error
			if t.Due.IsZero() {
				_, err = tx.Exec(ctx, queries.Get("delete-date-timer"), t.Journey, t.Trigger, t.Profile, keep)
			} else {
				_, err = tx.Exec(ctx, queries.Get("upsert-date-timer"), t.Journey, t.Trigger, t.Profile, t.Due, t.Occurrence, keep)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: date timers: %w", err)
	}
	return nil
}

// DueDateTimers returns the due timers of live journeys, earliest first.
func (s *Store) DueDateTimers(ctx context.Context, until time.Time, limit int) ([]store.DateTimer, error) {
	rows, err := s.pool.Query(ctx, queries.Get("due-date-timers"), until, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: due date timers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.DateTimer, error) {
		var t store.DateTimer
		err := r.Scan(&t.Journey, &t.Trigger, &t.Profile, &t.Due, &t.Occurrence)
		t.Due = t.Due.UTC()
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: due date timers: %w", err)
	}
	return out, nil
}
