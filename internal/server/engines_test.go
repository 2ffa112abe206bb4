package server_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/postgres"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// engine opens the store of a test again and again (a restart), and runs
// SQL on it behind the store's back (what a crash leaves).
type engine struct {
	open func() store.Store
	exec func(query string)
	// try runs query like exec and returns its error.
	try func(query string) error
}

// onEngines runs fn with a harness on a fresh embedded store, and on
// PostgreSQL when PARCOURS_TEST_POSTGRES_URL is set (a schema of its own,
// dropped after).
func onEngines(t *testing.T, fn func(t *testing.T, h *harness, e engine), opts ...func(*server.Options)) {
	t.Run("SQLite", func(t *testing.T) {
		dir := t.TempDir()
		e := engine{
			open: func() store.Store {
				st, err := sqlite.Open(context.Background(), dir)
				if err != nil {
					t.Fatal(err)
				}
				return st
			},
			exec: func(q string) {
				db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(10000)")
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			},
		}
		e.try = func(q string) error {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(10000)")
			if err != nil {
				return err
			}
			defer db.Close()
			_, err = db.Exec(q)
			return err
		}
		fn(t, newEngineHarness(t, e, dir, opts...), e)
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		base := os.Getenv("PARCOURS_TEST_POSTGRES_URL")
		if base == "" {
			t.Skip("PARCOURS_TEST_POSTGRES_URL not set")
		}
		ctx := context.Background()
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Close(context.Background()) })
		schema := "t_" + strings.ToLower(rand.Text())
		if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		e := engine{
			open: func() store.Store {
				st, err := postgres.Open(context.Background(), u.String())
				if err != nil {
					t.Fatal(err)
				}
				return st
			},
			exec: func(q string) {
				if _, err := admin.Exec(context.Background(), "SET search_path TO "+schema+"; "+q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			},
			try: func(q string) error {
				if _, err := admin.Exec(context.Background(), "SET search_path TO "+schema); err != nil {
					return err
				}
				_, err := admin.Exec(context.Background(), q)
				return err
			},
		}
		fn(t, newEngineHarness(t, e, t.TempDir(), opts...), e)
	})
}

// newEngineHarness is newHarness on the engine's store.
func newEngineHarness(t *testing.T, e engine, dir string, opts ...func(*server.Options)) *harness {
	ctx := context.Background()
	st := e.open()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, clock: clock.NewFake(now), opts: opts, client: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	var err error
	if h.admin, err = server.EnsureAdminKey(ctx, st, dir, now); err != nil {
		t.Fatal(err)
	}
	h.src, _ = source.New("Web shop", "web", "", now)
	if err := st.CreateSource(ctx, h.src); err != nil {
		t.Fatal(err)
	}
	h.serve()
	t.Cleanup(func() {
		h.http.Close()
		h.srv.Close()
		h.st.Close()
	})
	return h
}

// serve starts a server on h.st.
func (h *harness) serve() {
	o := server.Options{Clock: h.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, f := range h.opts {
		f(&o)
	}
	h.srv = server.New(h.st, o)
	h.srv.Start()
	h.http = httptest.NewServer(h.srv.Handler())
}

// restart stops the server and its store, runs crash (what the stop left
// behind: SQL on the stopped store; nil: nothing), and starts both again:
// a new process, nothing in memory.
func (h *harness) restart(e engine, crash func()) {
	h.http.Close()
	h.srv.Close()
	h.st.Close()
	if crash != nil {
		crash()
	}
	h.st = e.open()
	h.serve()
}
