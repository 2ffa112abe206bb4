package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// Append stores events and rejections in one IMMEDIATE transaction on the
// single writer connection. Because there is one writer, sequence numbers
// are committed in increasing order.
func (s *Store) Append(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: append: %w", err)
	}
	defer tx.Rollback()
	if err := appendTx(ctx, tx, events, rejects); err != nil {
		for _, e := range events {
			e.Seq = 0
		}
		return fmt.Errorf("sqlite: append: %w", err)
	}
	if err := tx.Commit(); err != nil {
		for _, e := range events {
			e.Seq = 0
		}
		return fmt.Errorf("sqlite: append: commit: %w", err)
	}
	return nil
}

func appendTx(ctx context.Context, tx *sql.Tx, events []*event.Event, rejects []*event.Rejection) error {
	if len(events) > 0 {
		keyStmt, err := tx.PrepareContext(ctx, queries.Get("insert-dedup-key"))
		if err != nil {
			return err
		}
		defer keyStmt.Close()
		evStmt, err := tx.PrepareContext(ctx, queries.Get("insert-event"))
		if err != nil {
			return err
		}
		defer evStmt.Close()
		var buf []byte
		for _, e := range events {
			e.Seq = 0
			res, err := keyStmt.ExecContext(ctx, e.SourceID, e.MessageID, micros(e.ReceivedAt))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				continue // a duplicate
			}
			buf = e.AppendJSON(buf[:0])
			res, err = evStmt.ExecContext(ctx, e.SourceID, e.MessageID, string(e.Type), e.Event,
				nullString(e.UserID), nullString(e.AnonymousID), micros(e.Timestamp), micros(e.ReceivedAt), buf)
			if err != nil {
				return err
			}
			if e.Seq, err = res.LastInsertId(); err != nil {
				return err
			}
		}
	}
	if len(rejects) > 0 {
		stmt, err := tx.PrepareContext(ctx, queries.Get("insert-rejection"))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, r := range rejects {
			res, err := stmt.ExecContext(ctx, r.SourceID, micros(r.ReceivedAt), r.MessageID, r.Index,
				r.Action, r.Code, r.Field, r.Reason, r.Payload)
			if err != nil {
				return err
			}
			if r.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadAfter returns up to limit events after seq, in order.
func (s *Store) ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("read-after"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read after %d: %w", after, err)
	}
	return scanEvents(rows)
}

// ListEvents returns the events q selects.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) ([]*event.Event, error) {
	w := &store.Where{Placeholder: store.QuestionMark, Time: func(t time.Time) any { return micros(t) }}
	store.EventWhere(q, w)
	order := "DESC"
	if q.Ascending {
		order = "ASC"
	}
	where, args, marks := w.SQL(store.ClampLimit(q.Limit, 100, 1000))
	rows, err := s.r.QueryContext(ctx, "SELECT seq, body FROM events"+where+" ORDER BY seq "+order+" LIMIT "+marks[0], args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list events: %w", err)
	}
	return scanEvents(rows)
}

func scanEvents(rows *sql.Rows) ([]*event.Event, error) {
	defer rows.Close()
	var out []*event.Event
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, fmt.Errorf("sqlite: scan event: %w", err)
		}
		e := new(event.Event)
		if err := event.Unmarshal(body, e); err != nil {
			return nil, fmt.Errorf("sqlite: event %d: %w", seq, err)
		}
		e.Seq = seq
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: read events: %w", err)
	}
	return out, nil
}

// LastSeq returns the newest sequence number.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.r.QueryRowContext(ctx, queries.Get("last-seq")).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlite: last seq: %w", err)
	}
	return seq, nil
}

// PruneDedup deletes dedup keys received before t.
func (s *Store) PruneDedup(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("prune-dedup"), micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune dedup keys: %w", err)
	}
	return res.RowsAffected()
}

// ListRejections returns rejections newest first.
func (s *Store) ListRejections(ctx context.Context, q store.RejectionQuery) ([]*event.Rejection, error) {
	w := &store.Where{Placeholder: store.QuestionMark}
	w.Eq("source_id", q.SourceID)
	w.Eq("code", q.Code)
	if q.Before > 0 {
		w.Add("id < ?", q.Before)
	}
	where, args, marks := w.SQL(store.ClampLimit(q.Limit, 100, 1000))
	rows, err := s.r.QueryContext(ctx, `SELECT id, source_id, received_at, message_id, idx, action, code, field, reason, payload
		FROM rejections`+where+` ORDER BY id DESC LIMIT `+marks[0], args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list rejections: %w", err)
	}
	defer rows.Close()
	var out []*event.Rejection
	for rows.Next() {
		r := new(event.Rejection)
		var at int64
		if err := rows.Scan(&r.ID, &r.SourceID, &at, &r.MessageID, &r.Index, &r.Action, &r.Code, &r.Field, &r.Reason, &r.Payload); err != nil {
			return nil, fmt.Errorf("sqlite: scan rejection: %w", err)
		}
		r.ReceivedAt = fromMicros(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list rejections: %w", err)
	}
	return out, nil
}
