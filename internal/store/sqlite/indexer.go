package sqlite

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcours/parcours/internal/eventlog"
)

// indexerCheckpoint names the indexer's progress in the checkpoints table.
const indexerCheckpoint = "sqlite:event_identifiers"

// indexer maintains the dedup table and event_identifiers behind the ingest
// path: appends only write the log, and the indexer adds rows in large
// sorted batches, which touch far fewer pages than indexes updated event by
// event. Queries by identifier read the index up to its checkpoint and scan
// the short unindexed tail beyond it, and appends check the in-memory keys
// of that tail (dedup.go), so both are always complete.
type indexer struct {
	s      *Store
	wakeup chan struct{}

	appended atomic.Int64 // unix nanoseconds of the last append
	lastSeq  atomic.Int64 // highest seq appended by this process

	mu   sync.Mutex // serialises runs: the loop and Flush
	done int64      // checkpoint, as of the last run
}

const (
	indexBatch = 5_000 // events per indexing transaction: short enough not to stall appends
	// idleBefore is how long appends must pause before the indexer runs.
	idleBefore = 200 * time.Millisecond
	// maxBacklog is how far behind the indexer may fall before it runs
	// under load too.
	maxBacklog = 2_000_000
)

func newIndexer(s *Store) *indexer {
	return &indexer{s: s, wakeup: make(chan struct{}, 1)}
}

func (ix *indexer) lastAppend() time.Time { return time.Unix(0, ix.appended.Load()) }

// backlog is how many events the index lacks, as far as this process knows.
func (ix *indexer) backlog() int64 {
	ix.mu.Lock()
	done := ix.done
	ix.mu.Unlock()
	return ix.lastSeq.Load() - done
}

// appended records an append up to seq.
func (ix *indexer) append(seq int64) {
	ix.appended.Store(time.Now().UnixNano())
	for {
		cur := ix.lastSeq.Load()
		if seq <= cur || ix.lastSeq.CompareAndSwap(cur, seq) {
			break
		}
	}
	ix.wake()
}

// wake tells the indexer that the log has grown.
func (ix *indexer) wake() {
	select {
	case ix.wakeup <- struct{}{}:
	default:
	}
}

// loop indexes until stop is closed.
func (ix *indexer) loop(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	if cp, err := ix.checkpoint(context.Background()); err == nil {
		ix.mu.Lock()
		ix.done = cp
		ix.mu.Unlock()
	}
	for {
		select {
		case <-stop:
			return
		case <-ix.wakeup:
		case <-time.After(time.Second):
		}
		// The index is low-priority work on the single writer: while events
		// keep arriving it waits (queries stay complete through the
		// unindexed tail), unless the backlog grows past maxBacklog.
		for time.Since(ix.lastAppend()) < idleBefore && ix.backlog() < maxBacklog {
			select {
			case <-stop:
				return
			case <-time.After(idleBefore):
			}
		}
		for {
			n, err := ix.run(context.Background())
			if err != nil {
				slog.Error("sqlite: index events by identifier", "err", err)
				break
			}
			if n < indexBatch {
				break
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}
}

// checkpoint returns how far the index is complete.
func (ix *indexer) checkpoint(ctx context.Context) (int64, error) {
	return ix.s.Checkpoint(ctx, indexerCheckpoint)
}

// run indexes one batch of events after the checkpoint and returns how many
// events it covered.
func (ix *indexer) run(ctx context.Context) (int, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	after, err := ix.checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	rows, err := ix.s.r.QueryContext(ctx, queries.Get("unindexed-events"), after, indexBatch)
	if err != nil {
		return 0, err
	}
	type entry struct{ h, seq int64 }
	var entries, keys []entry
	n, last := 0, after
	for rows.Next() {
		var seq int64
		var src, msg, user, anon string
		if err := rows.Scan(&seq, &src, &msg, &user, &anon); err != nil {
			rows.Close()
			return 0, err
		}
		n, last = n+1, seq
		keys = append(keys, entry{dedupHash(src, msg), seq})
		if user != "" {
			entries = append(entries, entry{identifierHash(user), seq})
		}
		if anon != "" && anon != user {
			entries = append(entries, entry{identifierHash(anon), seq})
		}
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	for _, list := range [][]entry{entries, keys} {
		sort.Slice(list, func(i, j int) bool {
			if list[i].h != list[j].h {
				return list[i].h < list[j].h
			}
			return list[i].seq < list[j].seq
		})
	}
	// The index is derived from the log: its writes ride on the next
	// append's fsync (see writeTx).
	tx, err := ix.s.beginWrite(eventlog.Replayable(ctx))
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, queries.Get("insert-event-identifier"))
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	for _, e := range entries {
		if _, err := stmt.ExecContext(ctx, e.h, e.seq); err != nil {
			return 0, err
		}
	}
	// A hash already in the table belongs to another key: that key's
	// collision row was written with its event.
	dedup, err := tx.PrepareContext(ctx, queries.Get("insert-dedup"))
	if err != nil {
		return 0, err
	}
	defer dedup.Close()
	for _, k := range keys {
		if _, err := dedup.ExecContext(ctx, k.h, k.seq); err != nil {
			return 0, err
		}
	}
	if _, err := tx.ExecContext(ctx, queries.Get("advance-checkpoint"), indexerCheckpoint, last, time.Now().UnixMicro()); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	ix.done = last
	ix.s.recent.dropUpTo(last)
	return n, nil
}

// Flush indexes every event appended so far. Queries are complete without
// it; tests use it to exercise the indexed path.
func (s *Store) Flush(ctx context.Context) error {
	for {
		n, err := s.indexer.run(ctx)
		if err != nil {
			return fmt.Errorf("sqlite: flush index: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// identifierHash is the 64-bit FNV-1a hash of a user or anonymous id.
func identifierHash(id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int64(h.Sum64())
}
