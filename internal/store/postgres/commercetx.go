package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store"
)

// The commerce rules live in the commerce package (commerce.Writes); this
// engine gives them transactions and row operations. Stock rows are
// changed in one of two ways, both free of lost updates: a conditional
// UPDATE (HoldStock: WHERE available >= qty, re-checked by PostgreSQL on
// the locked row), or SELECT ... FOR UPDATE then UPDATE within one
// transaction (LockStock, WriteStock). The rules take rows in (sku,
// location_id) order, so two multi-row writes never wait on each other in
// a cycle.

// commerceTx is a write transaction, as commerce.Tx.
type commerceTx struct{ tx pgx.Tx }

var _ commerce.Tx = commerceTx{}

// CommerceTx runs fn in a transaction.
func (s *Store) CommerceTx(ctx context.Context, what string, fn func(context.Context, commerce.Tx) error) error {
	return s.inTx(ctx, what, func(tx pgx.Tx) error { return fn(ctx, commerceTx{tx}) })
}

// SharedCommerceTx runs fn in a transaction of its own: PostgreSQL
// commits concurrent transactions together by itself.
func (s *Store) SharedCommerceTx(ctx context.Context, what string, fn func(context.Context, commerce.Tx) error) error {
	return s.CommerceTx(ctx, what, fn)
}

// inTx runs fn in a transaction.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	return store.TxError("postgres", what, pgx.BeginFunc(ctx, s.pool, fn))
}

// InsertKey stores an idempotency key. A key being stored by a
// concurrent transaction that then commits is a conflict too.
func (c commerceTx) InsertKey(ctx context.Context, k *commerce.IdempotencyKey, id string, at time.Time) error {
	_, err := c.tx.Exec(ctx, queries.Get("insert-key"), k.Scope, k.Key, k.Fingerprint, id, at)
	return conflictOr(err)
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
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
func affected(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrConflict
	}
	return nil
}
