package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store"
)

// ApplyUnify writes a unify batch and the checkpoint in one transaction.
func (s *Store) ApplyUnify(ctx context.Context, b *store.UnifyBatch) error {
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: apply unify batch: %w", err)
	}
	defer tx.Rollback()
	if err := applyUnify(ctx, tx, b); err != nil {
		return fmt.Errorf("sqlite: apply unify batch: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: apply unify batch: commit: %w", err)
	}
	return nil
}

func applyUnify(ctx context.Context, tx preparer, b *store.UnifyBatch) error {
	now := time.Now().UnixMicro()
	for _, m := range b.Merged {
		for _, q := range []struct {
			name string
			args []any
		}{
			{"move-identifiers", []any{m.Into, m.ID}},
			{"move-timeline", []any{m.Into, m.ID}},
			{"delete-timeline", []any{m.ID}},
			{"mark-merged", []any{m.ID, m.Into, now}},
		} {
			if _, err := tx.ExecContext(ctx, queries.Get(q.name), q.args...); err != nil {
				return fmt.Errorf("merge %d into %d: %w", m.ID, m.Into, err)
			}
		}
	}
	if err := execEach(ctx, tx, "upsert-profile", len(b.Profiles), func(i int) ([]any, error) {
		state, err := b.Profiles[i].Marshal()
		return []any{b.Profiles[i].ID, state, now}, err
	}); err != nil {
		return err
	}
	if err := execEach(ctx, tx, "upsert-identifier", len(b.Links), func(i int) ([]any, error) {
		l := b.Links[i]
		return []any{string(l.Identifier.Kind), l.Identifier.Value, l.Profile}, nil
	}); err != nil {
		return err
	}
	if err := execEach(ctx, tx, "insert-timeline", len(b.Timeline), func(i int) ([]any, error) {
		t := b.Timeline[i]
		return []any{t.Profile, micros(t.At), t.Seq}, nil
	}); err != nil {
		return err
	}
	if err := execEach(ctx, tx, "insert-merge", len(b.Merges), func(i int) ([]any, error) {
		m := b.Merges[i]
		ids, err := json.Marshal(m.Identifiers)
		return []any{micros(m.At), m.EventSeq, m.Profile, m.Merged, string(ids)}, err
	}); err != nil {
		return err
	}
	if err := execEach(ctx, tx, "insert-refusal", len(b.Refusals), func(i int) ([]any, error) {
		r := b.Refusals[i]
		return []any{micros(r.At), r.EventSeq, r.Profile, string(r.Identifier.Kind), r.Identifier.Value, r.Holder, r.Reason}, nil
	}); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, queries.Get("advance-checkpoint"), b.Consumer, b.Checkpoint, now)
	return err
}

// execEach runs the named statement n times with the arguments args(i).
func execEach(ctx context.Context, tx preparer, name string, n int, args func(i int) ([]any, error)) error {
	if n == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, queries.Get(name))
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer stmt.Close()
	for i := range n {
		a, err := args(i)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := stmt.ExecContext(ctx, a...); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// ResetUnify deletes everything derived by unify.
func (s *Store) ResetUnify(ctx context.Context, consumer string) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: reset unify: %w", err)
	}
	defer tx.Rollback()
	for _, table := range []string{"profiles", "identifiers", "profile_events", "merges", "identity_refusals", "rfm_scores", "rfm_runs"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table); err != nil {
			return fmt.Errorf("sqlite: reset unify: %s: %w", table, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM checkpoints WHERE consumer = ?", consumer); err != nil {
		return fmt.Errorf("sqlite: reset unify: %w", err)
	}
	return tx.Commit()
}

// ForgetProfile deletes a profile's row, identifiers and timeline, and
// marks its merges undone.
func (s *Store) ForgetProfile(ctx context.Context, profileID int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: forget profile: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []struct {
		name string
		args []any
	}{
		{"forget-profile", []any{profileID}},
		{"forget-identifiers", []any{profileID}},
		{"delete-timeline", []any{profileID}},
		{"undo-merges", []any{time.Now().UnixMicro(), profileID, profileID}},
	} {
		if _, err := tx.ExecContext(ctx, queries.Get(q.name), q.args...); err != nil {
			return fmt.Errorf("sqlite: forget profile %d: %w", profileID, err)
		}
	}
	return tx.Commit()
}

// AddExclusion records a link an event must not make.
func (s *Store) AddExclusion(ctx context.Context, x store.Exclusion) error {
	if _, err := s.w.ExecContext(ctx, queries.Get("insert-exclusion"), x.EventSeq, string(x.Identifier.Kind), x.Identifier.Value); err != nil {
		return fmt.Errorf("sqlite: add exclusion: %w", err)
	}
	return nil
}

// Exclusions lists every recorded exclusion.
func (s *Store) Exclusions(ctx context.Context) ([]store.Exclusion, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("exclusions"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: exclusions: %w", err)
	}
	defer rows.Close()
	var out []store.Exclusion
	for rows.Next() {
		var x store.Exclusion
		var kind string
		if err := rows.Scan(&x.EventSeq, &kind, &x.Identifier.Value); err != nil {
			return nil, fmt.Errorf("sqlite: exclusions: %w", err)
		}
		x.Identifier.Kind = identity.Kind(kind)
		out = append(out, x)
	}
	return out, rows.Err()
}
