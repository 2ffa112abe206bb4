package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store"
)

// The commerce rules live in the commerce package (commerce.Writes); this
// engine gives them transactions and row operations. Its locking is the
// single writer connection: a row read inside a write transaction cannot
// change before the transaction commits, so read-compute-write is
// race-free here, and LockStock and LockCart are plain reads.

// commerceTx is a write transaction, as commerce.Tx.
type commerceTx struct{ tx *sql.Tx }

var _ commerce.Tx = commerceTx{}

// CommerceTx runs fn in a write transaction on the writer connection.
func (s *Store) CommerceTx(ctx context.Context, what string, fn func(context.Context, commerce.Tx) error) error {
	return s.inTx(ctx, what, func(tx *sql.Tx) error { return fn(ctx, commerceTx{tx}) })
}

// SharedCommerceTx runs fn in a transaction shared with concurrent calls
// (see groupTx), in its own savepoint: concurrent reservations share one
// commit, one fsync.
func (s *Store) SharedCommerceTx(ctx context.Context, what string, fn func(context.Context, commerce.Tx) error) error {
	return s.group.do(ctx, s, func(tx *sql.Tx) error {
		// Not cancellable once started: SQLite rolls back the whole
		// (shared) transaction when a write statement is interrupted.
		return fn(context.WithoutCancel(ctx), commerceTx{tx})
	})
}

// inTx runs fn in a write transaction.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", what, err)
	}
	defer tx.Rollback()
	if err := fn(tx.Tx); err != nil {
		return store.TxError("sqlite", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: commit: %w", what, err)
	}
	return nil
}

// InsertKey stores an idempotency key.
func (c commerceTx) InsertKey(ctx context.Context, k *commerce.IdempotencyKey, id string, at time.Time) error {
	_, err := c.tx.ExecContext(ctx, queries.Get("insert-key"), k.Scope, k.Key, k.Fingerprint, id, micros(at))
	return conflictOr(err)
}

// conflictOr returns the store's conflict error for a uniqueness
// violation, err otherwise.
func conflictOr(err error) error {
	if isUniqueViolation(err) {
		return store.ErrConflict
	}
	return err
}

// affected returns the conflict error when a conditional write changed no
// row.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrConflict
	}
	return nil
}
