package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// Holders returns the holder of each identifier that has one.
func (s *Store) Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error) {
	out := make(map[identity.Identifier]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	q := s.r.QueryRowContext
	if len(ids) > 4 {
		// Many lookups (a unify batch) share one prepared statement.
		stmt, err := s.r.PrepareContext(ctx, queries.Get("holder"))
		if err != nil {
			return nil, fmt.Errorf("sqlite: holders: %w", err)
		}
		defer stmt.Close()
		q = func(ctx context.Context, _ string, args ...any) *sql.Row { return stmt.QueryRowContext(ctx, args...) }
	}
	for _, id := range ids {
		var p int64
		err := q(ctx, queries.Get("holder"), string(id.Kind), id.Value).Scan(&p)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: holder of %s: %w", id, err)
		}
		out[id] = p
	}
	return out, nil
}

// LoadProfiles returns the live profiles among ids.
func (s *Store) LoadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, error) {
	out := make(map[int64]*profile.Profile, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	// One statement for the batch: a statement per profile cost as much
	// as decoding it.
	arg, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("sqlite: load profiles: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, queries.Get("profile-states"), string(arg))
	if err != nil {
		return nil, fmt.Errorf("sqlite: load profiles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var into sql.NullInt64
		var state []byte
		if err := rows.Scan(&id, &into, &state); err != nil {
			return nil, fmt.Errorf("sqlite: load profiles: %w", err)
		}
		if into.Valid {
			continue // merged: not live
		}
		p, err := profile.Unmarshal(state)
		if err != nil {
			return nil, fmt.Errorf("sqlite: profile %d: %w", id, err)
		}
		p.ID = id
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: load profiles: %w", err)
	}
	return out, nil
}

// rowQuerier runs a one-row query: a *sql.DB or a prepared *sql.Stmt.
type rowQuerier func(ctx context.Context, args ...any) *sql.Row

// loadProfile reads one row: the live profile, or the id it was merged into.
func loadProfile(ctx context.Context, q rowQuerier, id int64) (*profile.Profile, int64, error) {
	var got int64
	var into sql.NullInt64
	var state []byte
	err := q(ctx, id).Scan(&got, &into, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, fmt.Errorf("sqlite: %w", problem.NotFound("profile", id))
	}
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: profile %d: %w", id, err)
	}
	if into.Valid {
		return nil, into.Int64, nil
	}
	p, err := profile.Unmarshal(state)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: profile %d: %w", id, err)
	}
	p.ID = id
	return p, 0, nil
}

// Profile returns a profile, following merges.
func (s *Store) Profile(ctx context.Context, id int64) (*profile.Profile, error) {
	q := func(ctx context.Context, args ...any) *sql.Row {
		return s.r.QueryRowContext(ctx, queries.Get("profile-state"), args...)
	}
	for range 1000 { // merge chains are short; this bounds a corrupt cycle
		p, into, err := loadProfile(ctx, q, id)
		if err != nil || p != nil {
			return p, err
		}
		id = into
	}
	return nil, fmt.Errorf("sqlite: profile %d: merge chain too long", id)
}

// ProfileCount counts live profiles.
func (s *Store) ProfileCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, queries.Get("profile-count")).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: profile count: %w", err)
	}
	return n, nil
}

// ListProfiles returns live profiles by id, after the given one.
func (s *Store) ListProfiles(ctx context.Context, after int64, limit int) ([]*profile.Profile, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("live-profiles"), after, store.ScanPage.Size(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list profiles: %w", err)
	}
	defer rows.Close()
	var out []*profile.Profile
	for rows.Next() {
		var id int64
		var state []byte
		if err := rows.Scan(&id, &state); err != nil {
			return nil, fmt.Errorf("sqlite: list profiles: %w", err)
		}
		p, err := profile.Unmarshal(state)
		if err != nil {
			return nil, fmt.Errorf("sqlite: profile %d: %w", id, err)
		}
		p.ID = id
		out = append(out, p)
	}
	return out, rows.Err()
}
