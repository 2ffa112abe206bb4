// Package postgres is the server store: a PostgreSQL database reached
// through a pgx connection pool, for deployments that run several Parcours
// processes or already operate PostgreSQL.
//
// Unlike SQLite, PostgreSQL lets many transactions write at once, so the
// guarantees the store interface makes are kept with advisory locks: one
// serialises migrations between processes starting together, the other
// serialises appends so that sequence numbers are committed in order.
package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlfile"
)

//go:embed migrations/*.sql *.sql
var files embed.FS

var queries = func() sqlfile.Queries {
	q, err := sqlfile.LoadAllQueries(files)
	if err != nil {
		panic(err)
	}
	return q
}()

// Advisory lock keys. They are database-wide: every schema of a database
// shares them, which only costs concurrency between stores that would not
// need it.
const (
	// migrateLock is held by the transaction applying a migration.
	migrateLock int64 = 0x70617263_6d696772 // "parc" "migr"
	// appendLock is held by every append transaction until it commits.
	appendLock int64 = 0x70617263_6c6f6721 // "parc" "log!"
)

// Store is the PostgreSQL engine.
type Store struct {
	pool *pgxpool.Pool
	tail *store.Tail // the newest events this process appended, decoded; nil: none

	// fence is the pipeline token this process writes under (fence.go).
	fence fence
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string, as pgx accepts). It does not migrate; call Migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// Not wrapped: pgx's parse error quotes the connection string and
		// only hides the password on a best-effort basis.
		return nil, fmt.Errorf("postgres: open: cannot parse the connection string")
	}
	s := &Store{}
	cfg.PrepareConn = s.fence.prepare
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s.pool = pool
	return s, nil
}

// Engine returns "postgres".
func (s *Store) Engine() string { return "postgres" }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Migrate applies the embedded migrations not applied yet, each in its own
// transaction. Several processes may migrate at once: each transaction
// takes an advisory lock first, then checks whether its migration is still
// to apply, so exactly one process applies it and the others see it done.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := sqlfile.LoadMigrations(files, "migrations")
	if err != nil {
		return err
	}
	for _, m := range migrations {
		if err := s.apply(ctx, m); err != nil {
			return fmt.Errorf("postgres: migrate %s: %w", m.Name, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m sqlfile.Migration) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, queries.Get("lock"), migrateLock); err != nil {
			return err
		}
		// Created under the lock: concurrent CREATE TABLE IF NOT EXISTS
		// statements can still collide on the catalog's unique indexes.
		if _, err := tx.Exec(ctx, queries.Get("create-migrations-table")); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, queries.Get("migration-applied"), m.Version).Scan(&done); err != nil {
			return err
		}
		if done {
			return nil
		}
		// Without arguments pgx sends the simple protocol, which runs a
		// file of several statements.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, queries.Get("record-migration"), m.Version, m.Name)
		return err
	})
}
