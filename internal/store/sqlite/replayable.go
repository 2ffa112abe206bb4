package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"

	"github.com/parcours/parcours/internal/eventlog"
)

// writeTx is a write transaction on the writer connection. For a write
// derived from the event log (eventlog.Replayable), the connection is held
// for the transaction with synchronous=NORMAL: in WAL mode the commit then
// writes its frames without an fsync, and they become durable with the
// next FULL commit — an append, which syncs the WAL and so every frame
// before its own — or the background checkpointer's sync, within
// checkpointEvery. A power loss before either rolls the WAL back to a
// consistent prefix: the stages' work and their checkpoints go back
// together and the log is handed over again. This is what keeps the six
// stages from costing six fsyncs per small batch behind ingestion (the
// writer connection is shared: each fsync of a stage delayed the next
// append by as much).
//
// Acknowledged writes (appends, API writes) keep synchronous=FULL.
//
// Its ExecContext and PrepareContext run the store's queries through the
// writer's kept statements (see db.stmt): a stage's small batch prepared
// each of its statements again before (7 % of serve's CPU at /v1/track
// 1,000/s). A query not kept yet is prepared for this transaction alone,
// then kept once the transaction has given the connection back.
type writeTx struct {
	*sql.Tx
	conn   *sql.Conn // held for a replayable write; nil otherwise
	once   sync.Once
	w      *db
	missed []string // queries to keep once the connection is back
}

// PrepareContext returns the writer's kept statement for query, bound to
// the transaction (closed with it).
func (t *writeTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if t.w != nil {
		if st := t.w.kept(ctx, t.Tx, query); st != nil {
			return st, nil
		}
		t.miss(query)
	}
	return t.Tx.PrepareContext(ctx, query)
}

// ExecContext runs query through its kept statement.
func (t *writeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.w != nil {
		if st := t.w.kept(ctx, t.Tx, query); st != nil {
			return st.ExecContext(ctx, args...)
		}
		t.miss(query)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

// miss notes a query to keep after the transaction: one of the store's
// named queries (SQL built with a varying number of placeholders would
// fill the cache).
func (t *writeTx) miss(query string) {
	if named[query] {
		t.missed = append(t.missed, query)
	}
}

// named holds the text of every named query (queries).
var named = func() map[string]bool {
	m := make(map[string]bool, len(queries))
	for _, q := range queries {
		m[q] = true
	}
	return m
}()

// beginWrite begins a write transaction, without its own fsync when ctx
// carries a replayable write.
func (s *Store) beginWrite(ctx context.Context) (*writeTx, error) {
	if !eventlog.IsReplayable(ctx) {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		return &writeTx{Tx: tx, w: s.w}, nil
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// The level cannot change inside a transaction: it is set on the
	// connection, held until it is set back.
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=NORMAL"); err != nil {
		release(conn)
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		release(conn)
		return nil, err
	}
	return &writeTx{Tx: tx, conn: conn, w: s.w}, nil
}

// Commit commits and gives the connection back.
func (t *writeTx) Commit() error {
	err := t.Tx.Commit()
	t.done()
	return err
}

// Rollback rolls back (if not committed yet) and gives the connection
// back.
func (t *writeTx) Rollback() error {
	err := t.Tx.Rollback()
	t.done()
	return err
}

func (t *writeTx) done() {
	t.once.Do(func() {
		if t.conn != nil {
			release(t.conn)
		}
		// The connection is back: the statements this transaction
		// prepared for itself are kept for the next ones.
		if t.w != nil {
			for _, q := range t.missed {
				t.w.stmt(context.Background(), q)
			}
		}
	})
}

// release sets the writer connection back to synchronous=FULL and returns
// it to the pool; a connection whose level cannot be restored is closed
// rather than reused (a new one opens FULL, from the DSN).
func release(conn *sql.Conn) {
	if _, err := conn.ExecContext(context.Background(), "PRAGMA synchronous=FULL"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}
