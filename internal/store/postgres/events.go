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

// Append stores events and rejections in one transaction.
//
// Identity values are drawn when rows are inserted, not when they are
// committed: two concurrent appends could commit seq 8 before seq 7, and a
// reader that had already read up to 8 would never see 7. So every append
// transaction first takes the append advisory lock, held until it commits,
// and appends are committed one at a time, in sequence order.
func (s *Store) Append(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error {
	// Seq must be 0 before the bodies are encoded, or they would carry it.
	for _, e := range events {
		e.Seq = 0
	}
	if len(events) == 0 && len(rejects) == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, queries.Get("lock"), appendLock); err != nil {
			return err
		}
		if err := insertEvents(ctx, tx, store.FirstOccurrences(events)); err != nil {
			return err
		}
		return insertRejections(ctx, tx, rejects)
	})
	if err != nil {
		for _, e := range events {
			e.Seq = 0
		}
		for _, r := range rejects {
			r.ID = 0
		}
		return fmt.Errorf("postgres: append: %w", err)
	}
	s.tail.Add(events)
	return nil
}

// UseTail makes the store keep the newest events this process appends in t
// and answer ReadAfter from it when it can (store.Tail; events other
// processes append leave a gap, and are read from the database). Call it
// before the store is used.
func (s *Store) UseTail(t *store.Tail) { s.tail = t }

// insertEvents stores the events of batch, free of duplicates within it,
// whose dedup keys are new, and sets their Seq. Lock should be held.
func insertEvents(ctx context.Context, tx pgx.Tx, batch []*event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	n := len(batch)
	srcs, msgs, recv := make([]string, n), make([]string, n), make([]time.Time, n)
	for i, e := range batch {
		srcs[i], msgs[i], recv[i] = e.SourceID, e.MessageID, e.ReceivedAt
	}
	rows, err := tx.Query(ctx, queries.Get("insert-dedup-keys"), srcs, msgs, recv)
	if err != nil {
		return fmt.Errorf("dedup keys: %w", err)
	}
	// fresh maps the keys just inserted to their event's Seq, 0 until known.
	fresh := make(map[store.DedupKey]int64, n)
	var k store.DedupKey
	if _, err := pgx.ForEachRow(rows, []any{&k.SourceID, &k.MessageID}, func() error {
		fresh[k] = 0
		return nil
	}); err != nil {
		return fmt.Errorf("dedup keys: %w", err)
	}
	if len(fresh) == 0 {
		return nil
	}

	news := make([]*event.Event, 0, len(fresh))
	for _, e := range batch {
		if _, ok := fresh[store.DedupKey{SourceID: e.SourceID, MessageID: e.MessageID}]; ok {
			news = append(news, e)
		}
	}
	n = len(news)
	srcs, msgs, recv = srcs[:n], msgs[:n], recv[:n]
	types, names, users, anons := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ts, bodies := make([]time.Time, n), make([][]byte, n)
	for i, e := range news {
		srcs[i], msgs[i], recv[i] = e.SourceID, e.MessageID, e.ReceivedAt
		types[i], names[i], users[i], anons[i] = string(e.Type), e.Event, e.UserID, e.AnonymousID
		ts[i], bodies[i] = e.Timestamp, e.AppendJSON(nil)
	}
	rows, err = tx.Query(ctx, queries.Get("insert-events"),
		srcs, msgs, types, names, users, anons, ts, recv, bodies)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	var seq int64
	if _, err := pgx.ForEachRow(rows, []any{&seq, &k.SourceID, &k.MessageID}, func() error {
		fresh[k] = seq
		return nil
	}); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	for _, e := range news {
		e.Seq = fresh[store.DedupKey{SourceID: e.SourceID, MessageID: e.MessageID}]
		if e.Seq == 0 {
			return fmt.Errorf("events: no seq returned for %s/%s", e.SourceID, e.MessageID)
		}
	}
	return nil
}

// insertRejections stores rejects and sets their IDs. Lock should be held.
func insertRejections(ctx context.Context, tx pgx.Tx, rejects []*event.Rejection) error {
	if len(rejects) == 0 {
		return nil
	}
	n := len(rejects)
	srcs, recv, msgs, idxs := make([]string, n), make([]time.Time, n), make([]string, n), make([]int, n)
	actions, codes, fields, reasons, payloads := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range rejects {
		srcs[i], recv[i], msgs[i], idxs[i] = r.SourceID, r.ReceivedAt, r.MessageID, r.Index
		actions[i], codes[i], fields[i], reasons[i], payloads[i] = r.Action, r.Code, r.Field, r.Reason, r.Payload
	}
	rows, err := tx.Query(ctx, queries.Get("insert-rejections"),
		srcs, recv, msgs, idxs, actions, codes, fields, reasons, payloads)
	if err != nil {
		return fmt.Errorf("rejections: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("rejections: %w", err)
	}
	if len(ids) != n {
		return fmt.Errorf("rejections: %d ids returned for %d rows", len(ids), n)
	}
	// RETURNING promises no order; the ids, drawn in batch order, do.
	slices.Sort(ids)
	for i, r := range rejects {
		r.ID = ids[i]
	}
	return nil
}

// ReadAfter returns up to limit events after seq, in order.
func (s *Store) ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	if events, ok := s.tail.Read(after, limit); ok {
		return events, nil
	}
	rows, err := s.pool.Query(ctx, queries.Get("read-after"), after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: read after %d: %w", after, err)
	}
	return scanEvents(rows)
}

// ListEvents returns the events q selects.
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) ([]*event.Event, error) {
	w := &store.Where{Placeholder: store.Dollar, Time: func(t time.Time) any { return t }}
	store.EventWhere(q, w)
	order := "DESC"
	if q.Ascending {
		order = "ASC"
	}
	where, args, marks := w.SQL(store.ListPage.Size(q.Limit))
	rows, err := s.pool.Query(ctx, "SELECT seq, body FROM events"+where+" ORDER BY seq "+order+" LIMIT "+marks[0], args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list events: %w", err)
	}
	return scanEvents(rows)
}

func scanEvents(rows pgx.Rows) ([]*event.Event, error) {
	var out []*event.Event
	var seq int64
	var body []byte
	_, err := pgx.ForEachRow(rows, []any{&seq, &body}, func() error {
		e := new(event.Event)
		if err := event.Unmarshal(body, e); err != nil {
			return fmt.Errorf("event %d: %w", seq, err)
		}
		e.Seq = seq
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read events: %w", err)
	}
	return out, nil
}

// LastSeq returns the newest sequence number.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, queries.Get("last-seq")).Scan(&seq); err != nil {
		return 0, fmt.Errorf("postgres: last seq: %w", err)
	}
	return seq, nil
}

// PruneDedup deletes dedup keys received before t.
func (s *Store) PruneDedup(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("prune-dedup"), before)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune dedup keys: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ListRejections returns rejections newest first.
func (s *Store) ListRejections(ctx context.Context, q store.RejectionQuery) ([]*event.Rejection, error) {
	w := &store.Where{Placeholder: store.Dollar, Time: func(t time.Time) any { return t }}
	w.Eq("source_id", q.SourceID)
	w.Eq("code", q.Code)
	if q.Before > 0 {
		w.Add("id < ?", q.Before)
	}
	where, args, marks := w.SQL(store.ListPage.Size(q.Limit))
	rows, err := s.pool.Query(ctx, `SELECT id, source_id, received_at, message_id, idx, action, code, field, reason, payload
		FROM rejections`+where+` ORDER BY id DESC LIMIT `+marks[0], args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list rejections: %w", err)
	}
	var out []*event.Rejection
	var r event.Rejection
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.SourceID, &r.ReceivedAt, &r.MessageID, &r.Index,
		&r.Action, &r.Code, &r.Field, &r.Reason, &r.Payload}, func() error {
		rc := r
		rc.ReceivedAt = rc.ReceivedAt.UTC()
		out = append(out, &rc)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list rejections: %w", err)
	}
	return out, nil
}
