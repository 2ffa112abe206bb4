package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/store"
)

// ClaimRequestKey stores k as claimed, or returns the key stored before.
// An insert that meets a key another transaction is inserting waits for
// it (ON CONFLICT), so the read after it sees that key.
func (s *Store) ClaimRequestKey(ctx context.Context, k *store.RequestKey) (*store.RequestKey, bool, error) {
	tag, err := s.pool.Exec(ctx, queries.Get("claim-request-key"), k.Scope, k.Key, k.Fingerprint, k.CreatedAt)
	if err != nil {
		return nil, false, fmt.Errorf("postgres: claim %s request key: %w", k.Scope, err)
	}
	if tag.RowsAffected() == 1 {
		claimed := *k
		claimed.Status, claimed.Response, claimed.ResourceID = 0, nil, ""
		return &claimed, true, nil
	}
	stored := store.RequestKey{Scope: k.Scope, Key: k.Key}
	err = s.pool.QueryRow(ctx, queries.Get("request-key"), k.Scope, k.Key).Scan(
		&stored.Fingerprint, &stored.Status, &stored.Response, &stored.ResourceID, &stored.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		// Released between the insert and the read: claim it again.
		return s.ClaimRequestKey(ctx, k)
	}
	if err != nil {
		return nil, false, fmt.Errorf("postgres: read %s request key: %w", k.Scope, err)
	}
	stored.CreatedAt = stored.CreatedAt.UTC()
	return &stored, false, nil
}

// AnswerRequestKey stores the answer of a claimed key.
func (s *Store) AnswerRequestKey(ctx context.Context, k *store.RequestKey) error {
	if _, err := s.pool.Exec(ctx, queries.Get("answer-request-key"), k.Status, k.Response, k.ResourceID, k.Scope, k.Key); err != nil {
		return fmt.Errorf("postgres: answer %s request key: %w", k.Scope, err)
	}
	return nil
}

// ReleaseRequestKey forgets a claimed key that holds no answer.
func (s *Store) ReleaseRequestKey(ctx context.Context, scope, key string) error {
	if _, err := s.pool.Exec(ctx, queries.Get("release-request-key"), scope, key); err != nil {
		return fmt.Errorf("postgres: release %s request key: %w", scope, err)
	}
	return nil
}
