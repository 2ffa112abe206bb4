package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// groupTx runs small independent writes (reservations) from many
// goroutines in shared transactions: while one transaction commits, the
// next requests queue up, and the next transaction runs them all. Each
// request runs inside its own SAVEPOINT, so a refused one is rolled back
// alone, and each caller returns only once the transaction holding its
// write has committed: an acknowledgement still means durable. With
// synchronous=FULL a commit costs an fsync; sharing it is what lets a hot
// SKU take thousands of reservations per second.
//
// There is no background goroutine: the first caller to find no
// transaction running becomes the leader and commits batches until the
// queue is empty.
type groupTx struct {
	mu      sync.Mutex
	pending []*groupReq
	leading bool
}

type groupReq struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	err  error
	done chan struct{}
}

// maxGroup bounds one transaction, so that a long queue does not delay
// the first request's acknowledgement indefinitely.
const maxGroup = 256

// do runs fn in a shared write transaction and returns its error, or the
// commit's.
func (g *groupTx) do(ctx context.Context, s *Store, fn func(tx *sql.Tx) error) error {
	r := &groupReq{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, r)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if lead {
		g.lead(s)
	}
	<-r.done
	return r.err
}

// lead commits batches until the queue is empty.
func (g *groupTx) lead(s *Store) {
	for {
		g.mu.Lock()
		batch := g.pending
		if len(batch) > maxGroup {
			batch = batch[:maxGroup]
		}
		g.pending = g.pending[len(batch):]
		if len(batch) == 0 {
			g.leading = false
			g.pending = nil
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		g.commit(s, batch)
	}
}

func (g *groupTx) commit(s *Store, batch []*groupReq) {
	finish := func(err error) {
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
			close(r.done)
		}
	}
	// The transaction outlives any one caller's context.
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		finish(fmt.Errorf("sqlite: group transaction: %w", err))
		return
	}
	defer tx.Rollback()
	for _, r := range batch {
		if r.err = r.ctx.Err(); r.err != nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT req"); err != nil {
			finish(fmt.Errorf("sqlite: group transaction: %w", err))
			return
		}
		if r.err = r.fn(tx); r.err != nil {
			_, err = tx.ExecContext(ctx, "ROLLBACK TO req")
		}
		if err == nil {
			_, err = tx.ExecContext(ctx, "RELEASE req")
		}
		if err != nil {
			finish(fmt.Errorf("sqlite: group transaction: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		// Nothing was written: even the requests that succeeded fail.
		for _, r := range batch {
			r.err = nil
		}
		finish(fmt.Errorf("sqlite: group transaction: commit: %w", err))
		return
	}
	finish(nil)
}
