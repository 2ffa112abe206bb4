package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/postgres"
	"github.com/parcours/parcours/internal/store/storetest"
)

// TestConformance runs the conformance suite, the one every engine passes.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

// open returns a migrated store on a schema of its own, dropped when t
// ends, so that tests never see each other's rows.
func open(t testing.TB) *postgres.Store {
	t.Helper()
	dsn, _ := freshSchema(t)
	s := connect(t, dsn)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// freshSchema creates an empty schema, dropped when t ends, and returns a
// connection string whose search_path points at it, and a connection for
// checking what the store wrote.
func freshSchema(t testing.TB) (dsn string, admin *pgx.Conn) {
	t.Helper()
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
	// Lower case, letters and digits: a plain identifier, needing no quotes.
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	// Registered before the stores' Close, so it runs after them: DROP
	// SCHEMA would wait for their open transactions otherwise.
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	if _, err := admin.Exec(ctx, "SET search_path TO "+schema); err != nil {
		t.Fatal(err)
	}
	return u.String(), admin
}

// connect opens a store, closed when t ends, without migrating it.
func connect(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMigrateConcurrently starts several processes' worth of stores on one
// empty schema at once: each migration must be applied exactly once.
func TestMigrateConcurrently(t *testing.T) {
	dsn, admin := freshSchema(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		s := connect(t, dsn)
		wg.Go(func() { errs <- s.Migrate(context.Background()) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	var applied int
	if err := admin.QueryRow(context.Background(), "SELECT COUNT(*) FROM schema_migrations").Scan(&applied); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) {
		t.Fatalf("schema_migrations holds %d rows, want %d", applied, len(files))
	}
}

// TestFollowerNeverSkips follows the log while writers on two pools (two
// processes, as far as the database can tell) append: every event must be
// seen, although sequence numbers are drawn before their transactions
// commit.
func TestFollowerNeverSkips(t *testing.T) {
	dsn, _ := freshSchema(t)
	writers := []*postgres.Store{connect(t, dsn), connect(t, dsn)}
	if err := writers[0].Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	const perWriter, batches, size = 3, 40, 5
	var wg sync.WaitGroup
	errs := make(chan error, len(writers)*perWriter)
	for i, s := range writers {
		for w := range perWriter {
			wg.Go(func() {
				for b := range batches {
					var batch []*event.Event
					for j := range size {
						batch = append(batch, storetest.Event("s", fmt.Sprintf("p%d-w%d-b%d-%d", i, w, b, j), "u", at))
					}
					if err := s.Append(ctx, batch, nil); err != nil {
						errs <- err
						return
					}
				}
			})
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	reader := connect(t, dsn)
	var last int64
	seen := 0
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		got, err := reader.ReadAfter(ctx, last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			if e.Seq <= last {
				t.Fatalf("seq %d read after %d", e.Seq, last)
			}
			last = e.Seq
		}
		seen += len(got)
		// One more read after the writers finished catches their last rows.
		if finished && len(got) == 0 {
			break
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if want := len(writers) * perWriter * batches * size; seen != want {
		t.Fatalf("follower saw %d events, want %d: it skipped some", seen, want)
	}
}
