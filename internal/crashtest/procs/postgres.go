package procs

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Postgres is a PostgreSQL server of the test's own: initdb'd in a
// temporary directory, on a free loopback port, trust authentication,
// fsync off. Stopped and removed when the test ends.
type Postgres struct {
	t    testing.TB
	bin  string // directory of initdb, pg_ctl, postgres
	dir  string
	port int
	as   []string // runuser -u postgres -- when run as root
}

// pgBin finds the directory of the PostgreSQL server binaries.
func pgBin() string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath(filepath.Join(filepath.Dir(p), "initdb")); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs := []string{"/usr/local/bin", "/usr/local/pgsql/bin"}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(m) > 0 {
		dirs = append(dirs, m...)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
				return d
			}
		}
	}
	return ""
}

// StartPostgres initialises and starts a private PostgreSQL server; it
// skips the test, saying why, when the server binaries (initdb, pg_ctl)
// are not installed, or when run as root without a postgres user to run
// them as (PostgreSQL refuses to run as root).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := pgBin()
	if bin == "" {
		t.Skip("no PostgreSQL server binaries (initdb, pg_ctl) on the PATH, in /usr/local/bin or /usr/lib/postgresql/*/bin: the test that restarts PostgreSQL needs a private instance")
	}
	dir, err := os.MkdirTemp("", "parcours-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &Postgres{t: t, bin: bin, dir: dir, port: FreePort(t)}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			t.Skip("running as root without a postgres user: PostgreSQL refuses to run as root")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.as = []string{"runuser", "-u", "postgres", "--"}
	}
	t.Cleanup(func() {
		_ = p.run("pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if err := p.run("initdb", "-D", p.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"); err != nil {
		t.Fatalf("initdb: %v", err)
	}
	p.Start()
	return p
}

func (p *Postgres) data() string { return filepath.Join(p.dir, "data") }

func (p *Postgres) run(name string, args ...string) error {
	argv := append(append(append([]string{}, p.as...), filepath.Join(p.bin, name)), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, out)
	}
	return nil
}

// URL is the connection string of the server's postgres database.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the server and waits until it accepts connections.
func (p *Postgres) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", p.port, p.dir)
	if err := p.run("pg_ctl", "-D", p.data(), "-l", filepath.Join(p.dir, "log"), "-o", opts, "-w", "-t", "30", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		p.t.Fatalf("%v\n%s", err, log)
	}
}

// Crash stops the server as a crash would (pg_ctl -m immediate: no
// checkpoint, recovery from the WAL at the next start).
func (p *Postgres) Crash() {
	p.t.Helper()
	if err := p.run("pg_ctl", "-D", p.data(), "-m", "immediate", "-w", "stop"); err != nil {
		p.t.Fatal(err)
	}
}

// Restart crashes the server, leaves it down for down, and starts it.
func (p *Postgres) Restart(down time.Duration) {
	p.Crash()
	time.Sleep(down)
	p.Start()
}
