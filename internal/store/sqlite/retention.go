package sqlite

import (
	"context"
	"fmt"
	"time"
)

// PruneEvents deletes up to limit events of source received before t, and
// their rows in event_identifiers. The last event of the log is never
// deleted: a new event takes MAX(seq)+1, which must not go back.
func (s *Store) PruneEvents(ctx context.Context, source string, before time.Time, limit int) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune events of %s: %w", source, err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, queries.Get("prune-events"), source, micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune events of %s: %w", source, err)
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite: prune events of %s: %w", source, err)
		}
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlite: prune events of %s: %w", source, err)
	}
	if len(seqs) > 0 {
		q, args := bind("erase-event_identifiers", map[string]any{"seqs": seqs})
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return 0, fmt.Errorf("sqlite: prune events of %s: %w", source, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: prune events of %s: %w", source, err)
	}
	if len(seqs) > 0 {
		s.tail.Clear()
	}
	return int64(len(seqs)), nil
}

// AnonymousProfiles returns live profiles known only by anonymous ids that
// did not change since before.
func (s *Store) AnonymousProfiles(ctx context.Context, before time.Time, after int64, limit int) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("anonymous-profiles"), micros(before), after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: anonymous profiles: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: anonymous profiles: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// PruneMessageBodies forgets the contents of up to limit finished messages
// created before t.
func (s *Store) PruneMessageBodies(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("prune-message-bodies"), micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune message bodies: %w", err)
	}
	return res.RowsAffected()
}

// PruneRequestKeys deletes up to limit idempotency keys claimed before t.
func (s *Store) PruneRequestKeys(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("prune-request-keys"), micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune request keys: %w", err)
	}
	return res.RowsAffected()
}

// PruneRejections deletes up to limit rejections received before t.
func (s *Store) PruneRejections(ctx context.Context, before time.Time, limit int) (int64, error) {
	res, err := s.w.ExecContext(ctx, queries.Get("prune-rejections"), micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune rejections: %w", err)
	}
	return res.RowsAffected()
}
