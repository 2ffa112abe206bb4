package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/parcours/parcours/internal/eventlog"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/source"
)

// CreateSource stores a new source.
func (s *Store) CreateSource(ctx context.Context, src *source.Source) error {
	_, err := s.w.ExecContext(ctx, queries.Get("insert-source"),
		src.ID, src.Name, src.Channel, src.WriteKey, src.StoreID, micros(src.Created))
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE constraint failed") {
			return fmt.Errorf("sqlite: %w", problem.Conflict("source", src.Name, "a source of this name exists already: choose another name"))
		}
		return fmt.Errorf("sqlite: create source %q: %w", src.Name, err)
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
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get source: %w", err)
	}
	list, err := scanSources(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("sqlite: %w", problem.NotFound("source", name))
	}
	return list[0], nil
}

// ListSources returns every source, oldest first.
func (s *Store) ListSources(ctx context.Context) ([]*source.Source, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("list-sources"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sources: %w", err)
	}
	return scanSources(rows)
}

func scanSources(rows *sql.Rows) ([]*source.Source, error) {
	defer rows.Close()
	var out []*source.Source
	for rows.Next() {
		src := new(source.Source)
		var created int64
		var disabled sql.NullInt64
		if err := rows.Scan(&src.ID, &src.Name, &src.Channel, &src.WriteKey, &src.StoreID, &created, &disabled); err != nil {
			return nil, fmt.Errorf("sqlite: scan source: %w", err)
		}
		src.Created, src.Disabled = fromMicros(created), nullMicros(disabled)
		out = append(out, src)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list sources: %w", err)
	}
	return out, nil
}

// DisableSource stops accepting the source's write key. Disabling twice
// keeps the first time.
func (s *Store) DisableSource(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, queries.Get("disable-source"), micros(at), id)
	if err != nil {
		return fmt.Errorf("sqlite: disable source %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: disable: %w", problem.NotFound("source", id))
	}
	return nil
}

// Checkpoint returns the consumer's last processed sequence number.
func (s *Store) Checkpoint(ctx context.Context, consumer string) (int64, error) {
	var seq int64
	err := s.r.QueryRowContext(ctx, queries.Get("get-checkpoint"), consumer).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: checkpoint %s: %w", consumer, err)
	}
	return seq, nil
}

// SaveCheckpoint records the consumer's progress.
func (s *Store) SaveCheckpoint(ctx context.Context, consumer string, seq int64) error {
	if !eventlog.IsReplayable(ctx) {
		if _, err := s.w.ExecContext(ctx, queries.Get("save-checkpoint"), consumer, seq, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: save checkpoint %s: %w", consumer, err)
		}
		return nil
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: save checkpoint %s: %w", consumer, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, queries.Get("save-checkpoint"), consumer, seq, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("sqlite: save checkpoint %s: %w", consumer, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: save checkpoint %s: %w", consumer, err)
	}
	return nil
}

// HasAdminKey reports whether any admin key exists.
func (s *Store) HasAdminKey(ctx context.Context) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, queries.Get("count-admin-keys")).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: admin keys: %w", err)
	}
	return n > 0, nil
}

// AddAdminKey stores the hash of a new admin key.
func (s *Store) AddAdminKey(ctx context.Context, hash string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, queries.Get("insert-admin-key"), hash, micros(at)); err != nil {
		return fmt.Errorf("sqlite: add admin key: %w", err)
	}
	return nil
}

// IsAdminKey reports whether hash is the hash of an admin key.
func (s *Store) IsAdminKey(ctx context.Context, hash string) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, queries.Get("is-admin-key"), hash).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlite: admin keys: %w", err)
	}
	return n > 0, nil
}
