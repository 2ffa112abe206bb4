package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// db is a pool whose statements are prepared once and kept: parsing and
// planning the same SQL text again on every call was a fifth of the CPU
// of the event-to-provider path. Statements past maxStmts (SQL built with
// a varying number of placeholders) are not kept.
type db struct {
	*sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

const maxStmts = 512

func newDB(d *sql.DB) *db { return &db{DB: d, stmts: map[string]*sql.Stmt{}} }

// stmt returns the kept statement for query, preparing it the first time;
// nil when the cache is full or the preparation failed (the caller then
// runs the query unprepared, which reports the error).
func (d *db) stmt(ctx context.Context, query string) *sql.Stmt {
	d.mu.RLock()
	st, ok := d.stmts[query]
	full := len(d.stmts) >= maxStmts
	d.mu.RUnlock()
	if ok {
		return st
	}
	if full {
		return nil
	}
	// Prepared without the lock held: preparing waits for a connection,
	// and the writer's only one may be held by a transaction that looks
	// up a kept statement (txStmt) meanwhile.
	st, err := d.DB.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if kept, ok := d.stmts[query]; ok {
		st.Close()
		return kept
	}
	if len(d.stmts) >= maxStmts {
		st.Close()
		return nil
	}
	d.stmts[query] = st
	return st
}

func (d *db) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := d.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return d.DB.QueryContext(ctx, query, args...)
}

func (d *db) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := d.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.DB.QueryRowContext(ctx, query, args...)
}

func (d *db) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := d.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return d.DB.ExecContext(ctx, query, args...)
}

// Close closes the kept statements, then the pool.
func (d *db) Close() error {
	d.mu.Lock()
	var errs []error
	for q, st := range d.stmts {
		errs = append(errs, st.Close())
		delete(d.stmts, q)
	}
	d.mu.Unlock()
	return errors.Join(append(errs, d.DB.Close())...)
}

// txStmt returns the kept statement for query bound to tx (prepared once
// on the writer connection, not parsed again for each transaction), or a
// statement prepared for tx alone when none is kept. Either is closed with
// the transaction. It never prepares a kept statement itself: that takes
// a connection of the pool, and tx holds the writer's only one — call
// stmt before beginning the transaction (see appendQueries).
func (d *db) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	d.mu.RLock()
	st, ok := d.stmts[query]
	d.mu.RUnlock()
	if ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, query)
}

// kept returns the kept statement for query bound to tx, nil when none is
// kept (the caller prepares it for tx alone).
func (d *db) kept(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	d.mu.RLock()
	st, ok := d.stmts[query]
	d.mu.RUnlock()
	if !ok {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// preparer prepares statements for a transaction: *sql.Tx, or a writeTx
// whose statements are kept.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
