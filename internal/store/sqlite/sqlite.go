// Package sqlite is the embedded store: one SQLite file in the data
// directory, through the pure-Go modernc.org/sqlite driver.
//
// SQLite allows one writer at a time. The store keeps two pools on the same
// file: a writer pool of exactly one connection, whose transactions begin
// IMMEDIATE so that they never fail to upgrade a read lock, and a read pool
// that serves queries concurrently thanks to WAL mode.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

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

// FileName is the database file's name inside the data directory.
const FileName = "parcours.db"

// Store is the SQLite engine.
type Store struct {
	path string
	w    *db // one connection: the single writer
	r    *db // the read pool

	indexer *indexer
	recent  recentKeys  // dedup keys not yet in the dedup table
	group   groupTx     // shared transactions for reservations
	tail    *store.Tail // the newest events appended, decoded; nil: none

	stop      chan struct{} // closed by Close
	closeOnce sync.Once
	bg        sync.WaitGroup // the background checkpointer and indexer

	// loyaltyWarm prepares the ledger's statements once (warmLoyalty).
	loyaltyWarm sync.Once
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database in dataDir. It does not
// migrate; call Migrate.
func Open(ctx context.Context, dataDir string) (*Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory: %w", err)
	}
	path := filepath.Join(dataDir, FileName)
	// busy_timeout is applied first by the driver: a connection must wait on
	// a busy database before anything else (switching to WAL included) can
	// need the lock. synchronous=FULL makes a commit durable when it returns;
	// with group commit it costs almost nothing.
	params := url.Values{
		"_busy_timeout": {"10000"},
		"_journal_mode": {"WAL"},
		"_synchronous":  {"FULL"},
		"_foreign_keys": {"1"},
	}
	// The writer does not checkpoint the WAL on commit (the default, at
	// 1,000 pages, stalls whichever commit crosses it): a background
	// checkpointer does it between commits. A 64 MB page cache keeps the
	// indexes' upper levels in memory; statement journals stay in memory;
	// 16 KB pages (for a new database) write a commit in a quarter of the
	// WAL frames, which measured 20% faster appends than 4 KB.
	//
	// secure_delete=FAST overwrites with zeros what a delete or an update
	// frees inside the pages it writes anyway, so that an older version of
	// a row does not linger in them; an erasure turns it fully on for its
	// transaction (docs/security.md#erasure). Fully on all the time cost
	// the pipeline 10-15% more CPU per event (BenchmarkCatchUp: 99-108
	// against 90-92 cpu-µs/event); FAST costs no I/O.
	wparams := url.Values{"_txlock": {"immediate"}, "_pragma": {
		"wal_autocheckpoint(0)", "cache_size(-65536)", "temp_store(memory)", "page_size(16384)", "secure_delete(fast)",
	}}
	rparams := url.Values{"_query_only": {"1"}}
	for k, v := range params {
		wparams[k], rparams[k] = v, v
	}
	w, err := sql.Open("sqlite", "file:"+path+"?"+wparams.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", "file:"+path+"?"+rparams.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0)*2)
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s := &Store{path: path, w: newDB(w), r: newDB(r), stop: make(chan struct{}), recent: recentKeys{m: map[int64]int64{}}}
	s.indexer = newIndexer(s)
	checkpointed, indexed := make(chan struct{}), make(chan struct{})
	s.bg.Add(2)
	go func() { defer s.bg.Done(); s.checkpointer(params, checkpointed) }()
	go func() { defer s.bg.Done(); s.indexer.loop(s.stop, indexed) }()
	return s, nil
}

// Engine returns "sqlite".
func (s *Store) Engine() string { return "sqlite" }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// Ping checks that both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping readers: %w", err)
	}
	return nil
}

// Close stops the background work and closes both pools. Closing twice is
// harmless.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.stop)
		s.bg.Wait()
		err1 := s.r.Close()
		// A truncating checkpoint on close keeps the WAL file from
		// lingering at its high-water mark between runs.
		_, _ = s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		err2 := s.w.Close()
		if err = errors.Join(err1, err2); err != nil {
			err = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return err
}

// Migrate applies the embedded migrations not applied yet, each in its own
// transaction.
func (s *Store) Migrate(ctx context.Context) error {
	migrations, err := sqlfile.LoadMigrations(files, "migrations")
	if err != nil {
		return err
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for _, m := range migrations {
		if err := s.apply(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, m sqlfile.Migration) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", m.Name, err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", m.Name, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", m.Name, err)
	}
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
