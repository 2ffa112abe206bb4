package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/source"
)

// uniqueViolation is PostgreSQL's SQLSTATE for a broken unique constraint.
const uniqueViolation = "23505"

// CreateSource stores a new source.
func (s *Store) CreateSource(ctx context.Context, src *source.Source) error {
	_, err := s.pool.Exec(ctx, queries.Get("insert-source"),
		src.ID, src.Name, src.Channel, src.WriteKey, src.StoreID, src.Created)
	if err != nil {
		if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == uniqueViolation {
			return fmt.Errorf("postgres: %w", problem.Conflict("source", src.Name, "a source of this name exists already: choose another name"))
		}
		return fmt.Errorf("postgres: create source %q: %w", src.Name, err)
	}
	return nil
}

// Source finds a source by id or name.
func (s *Store) Source(ctx context.Context, idOrName string) (*source.Source, error) {
	return s.oneSource(ctx, idOrName, queries.Get("source-by-id-or-name"), idOrName)
}

// SourceByWriteKey finds the source that owns key.
func (s *Store) SourceByWriteKey(ctx context.Context, key string) (*source.Source, error) {
	return s.oneSource(ctx, "", queries.Get("source-by-write-key"), key)
}

// oneSource reads the source a query finds; name is how the caller named it
// for the not-found error (empty for a write key, which stays secret).
func (s *Store) oneSource(ctx context.Context, name, query string, args ...any) (*source.Source, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: get source: %w", err)
	}
	list, err := scanSources(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("postgres: %w", problem.NotFound("source", name))
	}
	return list[0], nil
}

// ListSources returns every source, oldest first.
func (s *Store) ListSources(ctx context.Context) ([]*source.Source, error) {
	rows, err := s.pool.Query(ctx, queries.Get("list-sources"))
	if err != nil {
		return nil, fmt.Errorf("postgres: list sources: %w", err)
	}
	return scanSources(rows)
}

func scanSources(rows pgx.Rows) ([]*source.Source, error) {
	var out []*source.Source
	var src source.Source
	var disabled *time.Time
	_, err := pgx.ForEachRow(rows, []any{&src.ID, &src.Name, &src.Channel, &src.WriteKey, &src.StoreID,
		&src.Created, &disabled}, func() error {
		sc := src
		sc.Created = sc.Created.UTC()
		if disabled != nil { // NULL stays the zero time: enabled
			sc.Disabled = disabled.UTC()
		}
		out = append(out, &sc)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: scan sources: %w", err)
	}
	return out, nil
}

// DisableSource stops accepting the source's write key. Disabling twice
// keeps the first time.
func (s *Store) DisableSource(ctx context.Context, id string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, queries.Get("disable-source"), at, id)
	if err != nil {
		return fmt.Errorf("postgres: disable source %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: disable: %w", problem.NotFound("source", id))
	}
	return nil
}

// Checkpoint returns the consumer's last processed sequence number, 0 if it
// has none.
func (s *Store) Checkpoint(ctx context.Context, consumer string) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, queries.Get("get-checkpoint"), consumer).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: checkpoint %s: %w", consumer, err)
	}
	return seq, nil
}

// SaveCheckpoint records the consumer's progress.
func (s *Store) SaveCheckpoint(ctx context.Context, consumer string, seq int64) error {
	if _, err := s.pool.Exec(ctx, queries.Get("save-checkpoint"), consumer, seq); err != nil {
		return fmt.Errorf("postgres: save checkpoint %s: %w", consumer, err)
	}
	return nil
}

// HasAdminKey reports whether any admin key exists.
func (s *Store) HasAdminKey(ctx context.Context) (bool, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, queries.Get("count-admin-keys")).Scan(&n); err != nil {
		return false, fmt.Errorf("postgres: admin keys: %w", err)
	}
	return n > 0, nil
}

// AddAdminKey stores the hash of a new admin key.
func (s *Store) AddAdminKey(ctx context.Context, hash string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, queries.Get("insert-admin-key"), hash, at); err != nil {
		return fmt.Errorf("postgres: add admin key: %w", err)
	}
	return nil
}

// IsAdminKey reports whether hash is the hash of an admin key.
func (s *Store) IsAdminKey(ctx context.Context, hash string) (bool, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, queries.Get("is-admin-key"), hash).Scan(&n); err != nil {
		return false, fmt.Errorf("postgres: admin keys: %w", err)
	}
	return n > 0, nil
}
