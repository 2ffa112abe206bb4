package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store"
)

// IdempotencyKey returns a stored key, or ErrNotFound.
func (s *Store) IdempotencyKey(ctx context.Context, scope, key string) (*commerce.IdempotencyKey, error) {
	k := commerce.IdempotencyKey{Scope: scope, Key: key}
	err := s.r.QueryRowContext(ctx, queries.Get("key"), scope, key).Scan(&k.Fingerprint, &k.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: %s idempotency key: %w", scope, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s idempotency key: %w", scope, err)
	}
	return &k, nil
}

// Return returns a return by id.
func (s *Store) Return(ctx context.Context, id string) (*commerce.Return, error) {
	var r commerce.Return
	if err := s.getDoc(ctx, "return", id, &r, queries.Get("return"), id); err != nil {
		return nil, err
	}
	return &r, nil
}
