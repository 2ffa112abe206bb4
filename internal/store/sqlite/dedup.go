package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"hash/fnv"
	"strconv"
	"sync"

	"github.com/parcours/parcours/internal/event"
)

// Dedup keys live in two places, like the levels of an LSM tree: the dedup
// table, written by the background indexer in large sorted batches, and,
// for the events it has not reached yet, an in-memory map. Appending an
// event then costs a map lookup, a point read of the table, and the
// append-only insert of the event itself: no random b-tree insert on the
// ingest path, where each one dirtied a page of the dedup table per event.
//
// The events table is the source of truth: after a restart, or when another
// process has appended to the same file, the map is refilled from the
// events past what it knows.

// recentKeys maps the dedup hashes of events not yet in the dedup table to
// their seq.
type recentKeys struct {
	mu    sync.Mutex
	m     map[int64]int64
	known int64 // the events up to this seq are in m or in the table
	ready bool  // known has been initialised from the indexer's checkpoint
}

func (r *recentKeys) get(h int64) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	seq, ok := r.m[h]
	return seq, ok
}

func (r *recentKeys) put(h, seq int64) {
	r.mu.Lock()
	r.m[h] = seq
	r.mu.Unlock()
}

func (r *recentKeys) remove(hashes []int64) {
	r.mu.Lock()
	for _, h := range hashes {
		delete(r.m, h)
	}
	r.mu.Unlock()
}

// dropUpTo forgets the keys of events up to seq, now in the table.
func (r *recentKeys) dropUpTo(seq int64) {
	r.mu.Lock()
	for h, s := range r.m {
		if s <= seq {
			delete(r.m, h)
		}
	}
	r.mu.Unlock()
}

func (r *recentKeys) size() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.m)
}

// catchUp loads the keys of events after known, up to last, that this
// process did not append itself. It runs inside the append transaction,
// under the write lock, so nothing can be appended meanwhile.
func (s *Store) catchUp(ctx context.Context, tx *sql.Tx, last int64) error {
	r := &s.recent
	if !r.ready {
		var cp int64
		err := tx.QueryRowContext(ctx, queries.Get("get-checkpoint"), indexerCheckpoint).Scan(&cp)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		r.mu.Lock()
		r.known, r.ready = cp, true
		r.mu.Unlock()
	}
	r.mu.Lock()
	known := r.known
	r.mu.Unlock()
	if last <= known {
		return nil
	}
	rows, err := tx.QueryContext(ctx, queries.Get("event-keys-after"), known, last)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var src, msg string
		if err := rows.Scan(&seq, &src, &msg); err != nil {
			return err
		}
		r.put(dedupHash(src, msg), seq)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	r.known = last
	r.mu.Unlock()
	return nil
}

// dedupStmts are the statements an append uses to recognise duplicates.
type dedupStmts struct {
	eventKey, collision *sql.Stmt
}

func (s *Store) prepareDedup(ctx context.Context, tx *sql.Tx) (*dedupStmts, error) {
	var d dedupStmts
	var err error
	if d.eventKey, err = s.w.txStmt(ctx, tx, queries.Get("event-key")); err != nil {
		return nil, err
	}
	if d.collision, err = s.w.txStmt(ctx, tx, queries.Get("dedup-collision")); err != nil {
		return nil, err
	}
	return &d, nil
}

// tableKeys returns the seq of each of hashes that the dedup table holds
// and the in-memory keys do not, in one statement: most appends hold only
// new keys, and one query for the batch costs far less than one per event.
func (s *Store) tableKeys(ctx context.Context, tx *sql.Tx, hashes []int64) (map[int64]int64, error) {
	list := make([]byte, 0, len(hashes)*21+2)
	list = append(list, '[')
	s.recent.mu.Lock()
	n := 0
	for _, h := range hashes {
		if _, ok := s.recent.m[h]; ok {
			continue
		}
		if n > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, h, 10)
		n++
	}
	s.recent.mu.Unlock()
	if n == 0 {
		return nil, nil
	}
	list = append(list, ']')
	st, err := s.w.txStmt(ctx, tx, queries.Get("dedup-seqs"))
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var found map[int64]int64
	for rows.Next() {
		var h, seq int64
		if err := rows.Scan(&h, &seq); err != nil {
			return nil, err
		}
		if found == nil {
			found = map[int64]int64{}
		}
		found[h] = seq
	}
	return found, rows.Err()
}

// Outcomes of a dedup check.
const (
	fresh     = iota // a new key
	duplicate        // the key is stored already
	collision        // a new key whose hash another key holds
)

// check tells whether e, whose key hashes to h, is new; table holds the
// dedup table's rows for the append's hashes (tableKeys).
func (s *Store) check(ctx context.Context, d *dedupStmts, e *event.Event, h int64, table map[int64]int64) (int, error) {
	seq, ok := s.recent.get(h)
	if !ok {
		if seq, ok = table[h]; !ok {
			return fresh, nil
		}
	}
	var src, msg string
	err := d.eventKey.QueryRowContext(ctx, seq).Scan(&src, &msg)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	if src == e.SourceID && msg == e.MessageID {
		return duplicate, nil
	}
	var one int
	err = d.collision.QueryRowContext(ctx, e.SourceID, e.MessageID).Scan(&one)
	switch {
	case err == nil:
		return duplicate, nil
	case errors.Is(err, sql.ErrNoRows):
		return collision, nil
	}
	return 0, err
}

// dedupHash hashes a dedup key (a variable so that tests can force
// collisions).
var dedupHash = fnvKey

// fnvKey is the 64-bit FNV-1a hash of a dedup key, as SQLite's signed
// integer.
func fnvKey(sourceID, messageID string) int64 {
	h := fnv.New64a()
	h.Write([]byte(sourceID))
	h.Write([]byte{0})
	h.Write([]byte(messageID))
	return int64(h.Sum64())
}
