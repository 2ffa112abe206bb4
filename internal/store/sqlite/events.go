package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// Append stores events and rejections in one IMMEDIATE transaction on the
// single writer connection. Sequence numbers are MAX(seq)+1, +2, ... read
// inside the transaction, so they are committed in increasing order even
// when another process (an import) appends to the same file.
func (s *Store) Append(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error {
	for _, q := range appendQueries {
		s.w.stmt(ctx, queries.Get(q)) // kept once: the transaction below uses them
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: append: %w", err)
	}
	defer tx.Rollback()
	if err := s.appendTx(ctx, tx, events, rejects); err != nil {
		for _, e := range events {
			e.Seq = 0
		}
		return fmt.Errorf("sqlite: append: %w", err)
	}
	var last int64
	for _, e := range events {
		last = max(last, e.Seq)
	}
	if err := tx.Commit(); err != nil {
		for _, e := range events {
			if e.Seq != 0 {
				s.recent.remove([]int64{dedupHash(e.SourceID, e.MessageID)})
			}
			e.Seq = 0
		}
		return fmt.Errorf("sqlite: append: commit: %w", err)
	}
	s.recent.mu.Lock()
	s.recent.known = max(s.recent.known, last)
	s.recent.mu.Unlock()
	s.indexer.append(last)
	s.tail.Add(events)
	return nil
}

// appendQueries are the statements of an append, prepared once and kept.
var appendQueries = []string{"max-seq", "insert-event", "dedup-seqs", "event-key", "dedup-collision"}

// UseTail makes the store keep its newest appended events in t and answer
// ReadAfter from it when it can (store.Tail). Call it before the store is
// used.
func (s *Store) UseTail(t *store.Tail) { s.tail = t }

func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, events []*event.Event, rejects []*event.Rejection) error {
	if len(events) > 0 {
		if err := s.appendEvents(ctx, tx, events); err != nil {
			return err
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

// appendEvents writes each event whose dedup key is new (see dedup.go).
func (s *Store) appendEvents(ctx context.Context, tx *sql.Tx, events []*event.Event) (err error) {
	var seq int64
	maxSeq, err := s.w.txStmt(ctx, tx, queries.Get("max-seq"))
	if err != nil {
		return err
	}
	if err := maxSeq.QueryRowContext(ctx).Scan(&seq); err != nil {
		return err
	}
	if err := s.catchUp(ctx, tx, seq); err != nil {
		return err
	}
	d, err := s.prepareDedup(ctx, tx)
	if err != nil {
		return err
	}
	insert, err := s.w.txStmt(ctx, tx, queries.Get("insert-event"))
	if err != nil {
		return err
	}
	hashes := make([]int64, len(events))
	for i, e := range events {
		hashes[i] = dedupHash(e.SourceID, e.MessageID)
	}
	table, err := s.tableKeys(ctx, tx, hashes)
	if err != nil {
		return err
	}
	// Keys put in the map are taken back if the transaction fails.
	var added []int64
	defer func() {
		if err != nil {
			s.recent.remove(added)
		}
	}()
	var buf []byte
	for i, e := range events {
		e.Seq = 0
		h := hashes[i]
		outcome, err := s.check(ctx, d, e, h, table)
		if err != nil {
			return err
		}
		if outcome == duplicate {
			continue
		}
		next := seq + 1
		buf = e.AppendJSON(buf[:0])
		if _, err := insert.ExecContext(ctx, next, e.SourceID, e.MessageID, string(e.Type), e.Event,
			nullString(e.UserID), nullString(e.AnonymousID), micros(e.Timestamp), micros(e.ReceivedAt), buf); err != nil {
			return err
		}
		if outcome == collision {
			if _, err := tx.ExecContext(ctx, queries.Get("insert-dedup-collision"), e.SourceID, e.MessageID, next); err != nil {
				return err
			}
		} else {
			s.recent.put(h, next)
			added = append(added, h)
		}
		seq, e.Seq = next, next
	}
	return nil
}

// ReadAfter returns up to limit events after seq, in order.
func (s *Store) ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	if events, ok := s.tail.Read(after, limit); ok {
		return events, nil
	}
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
	limit := store.ListPage.Size(q.Limit)
	where, args, _ := w.SQL()
	query := "SELECT seq, body FROM events" + where
	if id := cmp.Or(q.UserID, q.AnonymousID, q.Identifier); id != "" {
		// The events holding id are those the index knows and those of the
		// unindexed tail; the conditions on the columns drop hash collisions.
		indexed, err := s.indexer.checkpoint(ctx)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list events: %w", err)
		}
		query = "SELECT seq, body FROM events" + where + " AND seq IN (SELECT seq FROM event_identifiers WHERE h = ?) AND seq <= ?" +
			" UNION ALL SELECT seq, body FROM events" + where + " AND seq > ?"
		both := make([]any, 0, 2*len(args)+3)
		both = append(both, args...)
		both = append(both, identifierHash(id), indexed)
		both = append(both, args...)
		args = append(both, indexed)
	}
	rows, err := s.r.QueryContext(ctx, query+" ORDER BY seq "+order+" LIMIT ?", append(args, limit)...)
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

// PruneDedup forgets the dedup keys of events received before t. The keys
// are found by sequence number: the first event received at or after t is
// found by binary search (received_at grows with seq), and the dedup table
// is swept in slices of its hash space, each a short transaction, so that
// ingestion is never held up for long.
func (s *Store) PruneDedup(ctx context.Context, before time.Time) (int64, error) {
	// Keys still in memory go to the table first, so that the table holds
	// them all and the indexer never writes back a pruned key.
	if err := s.Flush(ctx); err != nil {
		return 0, err
	}
	cutoff, err := s.firstReceivedAt(ctx, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune dedup keys: %w", err)
	}
	var total int64
	const slices = 64
	step := uint64(1) << 58 // 2^64 / 64
	for i := uint64(0); i < slices; i++ {
		lo, hi := int64(i*step), int64(i*step+step-1)
		res, err := s.w.ExecContext(ctx, queries.Get("prune-dedup-slice"), lo, hi, cutoff)
		if err != nil {
			return total, fmt.Errorf("sqlite: prune dedup keys: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	res, err := s.w.ExecContext(ctx, queries.Get("prune-dedup-collisions"), cutoff)
	if err != nil {
		return total, fmt.Errorf("sqlite: prune dedup keys: %w", err)
	}
	n, _ := res.RowsAffected()
	return total + n, nil
}

// firstReceivedAt returns the smallest seq received at or after us (one
// past the last seq when there is none).
func (s *Store) firstReceivedAt(ctx context.Context, us int64) (int64, error) {
	last, err := s.LastSeq(ctx)
	if err != nil {
		return 0, err
	}
	lo, hi := int64(1), last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		var at int64
		err := s.r.QueryRowContext(ctx, queries.Get("received-at"), mid).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			hi = mid
			continue
		}
		if err != nil {
			return 0, err
		}
		if at >= us {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// ListRejections returns rejections newest first.
func (s *Store) ListRejections(ctx context.Context, q store.RejectionQuery) ([]*event.Rejection, error) {
	w := &store.Where{Placeholder: store.QuestionMark}
	w.Eq("source_id", q.SourceID)
	w.Eq("code", q.Code)
	if q.Before > 0 {
		w.Add("id < ?", q.Before)
	}
	where, args, marks := w.SQL(store.ListPage.Size(q.Limit))
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
