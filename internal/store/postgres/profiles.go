package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

var _ store.Profiles = (*Store)(nil)

// Holders returns the holder of each identifier that has one.
func (s *Store) Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error) {
	out := make(map[identity.Identifier]int64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	kinds, values := make([]string, len(ids)), make([]string, len(ids))
	for i, id := range ids {
		kinds[i], values[i] = string(id.Kind), id.Value
	}
	rows, err := s.pool.Query(ctx, queries.Get("holders"), kinds, values)
	if err != nil {
		return nil, fmt.Errorf("postgres: holders: %w", err)
	}
	var id identity.Identifier
	var holder int64
	if _, err := pgx.ForEachRow(rows, []any{&id.Kind, &id.Value, &holder}, func() error {
		out[id] = holder
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: holders: %w", err)
	}
	return out, nil
}

// LoadProfiles returns the live profiles among ids.
func (s *Store) LoadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, error) {
	out := make(map[int64]*profile.Profile, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, queries.Get("live-profiles-by-id"), ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: load profiles: %w", err)
	}
	var id int64
	var state []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &state}, func() error {
		p, err := unmarshalProfile(id, state)
		if err != nil {
			return err
		}
		out[id] = p
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: load profiles: %w", err)
	}
	return out, nil
}

func unmarshalProfile(id int64, state []byte) (*profile.Profile, error) {
	p, err := profile.Unmarshal(state)
	if err != nil {
		return nil, fmt.Errorf("profile %d: %w", id, err)
	}
	p.ID = id
	return p, nil
}

// Profile returns a profile, following merges.
func (s *Store) Profile(ctx context.Context, id int64) (*profile.Profile, error) {
	for range 1000 { // merge chains are short; this bounds a corrupt cycle
		var into *int64
		var state []byte
		err := s.pool.QueryRow(ctx, queries.Get("profile-state"), id).Scan(&into, &state)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("postgres: %w", problem.NotFound("profile", id))
		}
		if err != nil {
			return nil, fmt.Errorf("postgres: profile %d: %w", id, err)
		}
		if into == nil {
			p, err := unmarshalProfile(id, state)
			if err != nil {
				return nil, fmt.Errorf("postgres: %w", err)
			}
			return p, nil
		}
		id = *into
	}
	return nil, fmt.Errorf("postgres: profile %d: merge chain too long", id)
}

// ProfileCount counts live profiles.
func (s *Store) ProfileCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, queries.Get("profile-count")).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: profile count: %w", err)
	}
	return n, nil
}

// ListProfiles returns live profiles by id, after the given one.
func (s *Store) ListProfiles(ctx context.Context, after int64, limit int) ([]*profile.Profile, error) {
	rows, err := s.pool.Query(ctx, queries.Get("live-profiles"), after, store.ScanPage.Size(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: list profiles: %w", err)
	}
	var out []*profile.Profile
	var id int64
	var state []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &state}, func() error {
		p, err := unmarshalProfile(id, state)
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: list profiles: %w", err)
	}
	return out, nil
}
