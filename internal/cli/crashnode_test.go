package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
)

// TestMain lets the test binary act as the parcours binary, so that a test
// can run `parcours serve` as a real process and kill it.
func TestMain(m *testing.M) {
	if os.Getenv("PARCOURS_TEST_RUN_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// engine is a store a crash test runs `serve` on: the embedded SQLite
// store in the data directory, or a PostgreSQL schema of its own.
type engine struct {
	name     string
	database string // "" for SQLite
	// app is the application_name serve's PostgreSQL sessions carry, so
	// that a kill can wait for them to end (see node.kill).
	app string
}

// crashEngines returns SQLite, and PostgreSQL when
// PARCOURS_TEST_POSTGRES_URL is set.
func crashEngines() []engine {
	es := []engine{{name: "SQLite"}}
	if os.Getenv("PARCOURS_TEST_POSTGRES_URL") != "" {
		es = append(es, engine{name: "PostgreSQL"})
	}
	return es
}

// prepare gives a PostgreSQL engine a fresh schema, dropped when t ends.
func (e engine) prepare(t *testing.T) engine {
	t.Helper()
	if e.name != "PostgreSQL" {
		return e
	}
	base := os.Getenv("PARCOURS_TEST_POSTGRES_URL")
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	e.database, e.app = u.String(), "parcours-"+schema
	return e
}

// open opens (and migrates) the engine's store for dir.
func (e engine) open(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := openStore(context.Background(), &config.Globals{DataDir: dir, Database: e.database})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// node is a `parcours serve` child process.
type node struct {
	t       *testing.T
	e       engine
	url     string
	cmd     *exec.Cmd
	started time.Time // when the process was started
	ready   time.Time // when /readyz first answered 200
	mu      sync.Mutex
	stderr  bytes.Buffer
}

// startNode runs `parcours serve` on dir and e with extra arguments, and
// waits until it is ready. The process is killed when t ends if it still
// runs.
func startNode(t *testing.T, dir string, e engine, args ...string) *node {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	n := &node{t: t, e: e, url: "http://" + addr}
	n.cmd = exec.Command(os.Args[0], append([]string{"serve", "--data-dir", dir, "--addr", addr, "--log-level", "warn"}, args...)...)
	database := e.database
	if e.app != "" {
		u, err := url.Parse(e.database)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("application_name", e.app)
		u.RawQuery = q.Encode()
		database = u.String()
	}
	n.cmd.Env = append(os.Environ(), "PARCOURS_TEST_RUN_MAIN=1", "PARCOURS_DATABASE_URL="+database)
	n.cmd.Stderr = &lockedWriter{mu: &n.mu, w: &n.stderr}
	n.started = time.Now()
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if n.cmd.ProcessState == nil {
			_ = n.cmd.Process.Kill()
			_ = n.cmd.Wait()
		}
	})
	if err := waitReady(context.Background(), n.url+"/readyz", 30*time.Second); err != nil {
		_ = n.cmd.Process.Kill()
		_ = n.cmd.Wait()
		t.Fatalf("%v; server said: %s", err, n.log())
	}
	n.ready = time.Now()
	return n
}

// startServe runs `parcours serve` on the embedded store in dataDir, with
// extra flags.
func startServe(t *testing.T, dataDir string, flags ...string) (url string, cmd *exec.Cmd) {
	t.Helper()
	n := startNode(t, dataDir, engine{name: "SQLite"}, flags...)
	return n.url, n.cmd
}

// kill stops the process with SIGKILL: no shutdown at all.
func (n *node) kill() {
	n.t.Helper()
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		n.t.Fatal(err)
	}
	_ = n.cmd.Wait()
	n.e.awaitSessionsGone(n.t)
}

// awaitSessionsGone waits until PostgreSQL has ended the sessions of a
// killed serve: a COMMIT the process sent just before it died still
// commits after its death, and what the test reads of the dead run must
// include it.
func (e engine) awaitSessionsGone(t *testing.T) {
	t.Helper()
	if e.app == "" {
		return
	}
	ctx := context.Background()
	c, err := pgx.Connect(ctx, os.Getenv("PARCOURS_TEST_POSTGRES_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", e.app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d PostgreSQL sessions of the killed serve still open after 10 s", n)
		}
	}
}

// stop stops the process with SIGINT and waits for it.
func (n *node) stop() {
	_ = n.cmd.Process.Signal(os.Interrupt)
	_ = n.cmd.Wait()
}

// log returns what the process wrote on stderr.
func (n *node) log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stderr.String()
}

// adminKey reads the admin key serve wrote in dir.
func adminKey(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, server.AdminKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// nodeID reads the node id serve wrote in dir.
func nodeID(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, server.NodeIDFile))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// middle returns the median of xs (0 for none).
func middle[T int | int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
