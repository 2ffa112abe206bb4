package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parcours/parcours/internal/store"
)

// ClaimRequestKey stores k as claimed, or returns the key stored before.
// The single writer connection makes the insert and the read one step.
func (s *Store) ClaimRequestKey(ctx context.Context, k *store.RequestKey) (*store.RequestKey, bool, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("claim-request-key"), k.Scope, k.Key, k.Fingerprint, micros(k.CreatedAt))
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: claim %s request key: %w", k.Scope, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, false, fmt.Errorf("sqlite: claim %s request key: %w", k.Scope, err)
	} else if n == 1 {
		claimed := *k
		claimed.Status, claimed.Response, claimed.ResourceID = 0, nil, ""
		return &claimed, true, nil
	}
	stored := store.RequestKey{Scope: k.Scope, Key: k.Key}
	var at int64
	err = s.w.QueryRowContext(ctx, queries.Get("request-key"), k.Scope, k.Key).Scan(
		&stored.Fingerprint, &stored.Status, &stored.Response, &stored.ResourceID, &at)
	if errors.Is(err, sql.ErrNoRows) {
		// Released between the insert and the read: claim it again.
		return s.ClaimRequestKey(ctx, k)
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: read %s request key: %w", k.Scope, err)
	}
	stored.CreatedAt = fromMicros(at)
	return &stored, false, nil
}

// AnswerRequestKey stores the answer of a claimed key.
func (s *Store) AnswerRequestKey(ctx context.Context, k *store.RequestKey) error {
	if _, err := s.w.ExecContext(ctx, queries.Get("answer-request-key"), k.Status, k.Response, k.ResourceID, k.Scope, k.Key); err != nil {
		return fmt.Errorf("sqlite: answer %s request key: %w", k.Scope, err)
	}
	return nil
}

// ReleaseRequestKey forgets a claimed key that holds no answer.
func (s *Store) ReleaseRequestKey(ctx context.Context, scope, key string) error {
	if _, err := s.w.ExecContext(ctx, queries.Get("release-request-key"), scope, key); err != nil {
		return fmt.Errorf("sqlite: release %s request key: %w", scope, err)
	}
	return nil
}
