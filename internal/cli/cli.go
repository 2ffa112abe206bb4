// Package cli holds the parcours subcommands. cmd/parcours only calls Main.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/postgres"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// Version is set at build time with -ldflags "-X .../cli.Version=v1.2.3".
var Version = ""

// root is the command line.
type root struct {
	config.Globals
	CPUProfile string `help:"Write a CPU profile of the command to this file (go tool pprof)." hidden:"" type:"path"`
	// CPUProfileOnSignal profiles from the first SIGUSR1 on (bench send
	// profiles the send alone, not the seeding before it).
	CPUProfileOnSignal string `help:"Write a CPU profile of the command to this file from the first SIGUSR1 it receives until it ends." hidden:"" type:"path"`

	Serve     serveCmd     `cmd:"" help:"Run Parcours: the tracking API, the management API and every part, in one process."`
	Sources   sourcesCmd   `cmd:"" help:"Manage sources: the touchpoints that send events, each with its write key and channel."`
	Import    importCmd    `cmd:"" help:"Import events from an NDJSON or CSV file, with the same validation and dedup as the API."`
	Profiles  profilesCmd  `cmd:"" help:"Look at unified customer profiles: identifiers, traits, timeline, merges; undo a wrong merge."`
	Templates templatesCmd `cmd:"" help:"Message templates: list, check and save, preview for a customer."`
	Replay    replayCmd    `cmd:"" help:"Rebuild identities, profiles and segment memberships from the event log (stop serve first)."`
	Apply     applyCmd     `cmd:"" help:"Apply definitions (segments, journeys) from YAML or JSON files to a running server."`
	Segments  segmentsCmd  `cmd:"" help:"Look at segments: list, members (CSV export), history; archive one."`
	Journey   journeyCmd   `cmd:"" help:"Journeys: test one against a scenario; list, show, pause, resume, archive; enrol a customer."`
	Tasks     tasksCmd     `cmd:"" help:"Tasks for store staff that journeys create: list a store's, mark one done."`
	Measure   measureCmd   `cmd:"" help:"Measure: KPIs against the previous period, campaign costs, the rollups' status."`
	Gen       genCmd       `cmd:"" help:"Generate a realistic synthetic retail event stream, to a file or to a server."`
	Bench     benchCmd     `cmd:"" help:"Measure Parcours: load generators that report throughput and latency."`
	Cluster   clusterCmd   `cmd:"" help:"Several serve nodes on PostgreSQL and NATS JetStream: the live nodes, who runs the pipeline, the stream's lag (docs/scale.md)."`
	Migrate   migrateCmd   `cmd:"" help:"Apply the database schema migrations (serve applies them at start too)."`
	Version   versionCmd   `cmd:"" help:"Print the version."`
	Users     usersCmd     `cmd:"" help:"People who sign in to the console: create, list, disable, set-role."`
	Keys      keysCmd      `cmd:"" help:"API keys with a role, stores and an expiry: create, list, revoke, rotate."`
	Audit     auditCmd     `cmd:"" help:"The audit log: who changed what, when, from where."`
	Surveys   surveysCmd   `cmd:"" help:"NPS and CSAT surveys: list, show, send after a contact, answers, scores by store, channel, journey, agent."`

	// Loyalty (issue 23, internal/cli/loyalty.go).
	Loyalty loyaltyCmd `cmd:"" help:"The loyalty programme: a member's statement, redeem and credit points as a till does, the liability report."`

	// The store associate's customer card (internal/cli/clienteling.go).
	Clienteling clientelingCmd `cmd:"" help:"The store associate's customer card: find the customer in front of you, see everything, add a note."`

	// Serve (issue 21).
	Conversations conversationsCmd `cmd:"" help:"Customer service conversations across channels: queues, a conversation, reply, assign, resolve."`

	// Commerce imports (internal/cli/commerce.go).
	Catalog   catalogCmd   `cmd:"" help:"Commerce: import the catalog (products and their SKUs)."`
	Locations locationsCmd `cmd:"" help:"Commerce: import stores and warehouses."`
	Stock     stockCmd     `cmd:"" help:"Commerce: import stock levels per SKU and location."`

	// Recommendations (issue 22, internal/cli/recommend.go).
	Recommend recommendCmd `cmd:"" help:"Preview the products the running server proposes to a customer (a named recommendation or strategy, in stock where asked)."`
	// Packaging (issue 25).
	Completion completionCmd `cmd:"" help:"Print the shell completion script for bash, zsh or fish."`
}

// env is what commands receive besides the globals.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

type exitCode int

// helpVars are the lists help texts show (${touchpoints},
// ${provider_types}), read from where they are described. Every parser of
// root needs them.
func helpVars() kong.Vars {
	return kong.Vars{"touchpoints": strings.Join(source.Channels(), ", "), "provider_types": strings.Join(providers.Types(), ", ")}
}

// Main runs the command line args and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	var cli root
	parser, err := kong.New(&cli,
		kong.Name("parcours"),
		kong.Description("Parcours: one customer profile and automated journeys across web, app, stores, email, SMS and push."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(c int) { panic(exitCode(c)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
		kong.Configuration(config.FileLoader),
		kong.UsageOnError(),
		helpVars(),
	)
	if err != nil {
		fmt.Fprintln(stderr, "parcours:", err)
		return 2
	}
	defer func() {
		if r := recover(); r != nil {
			code = exitOnPanic(r, stderr)
		}
	}()
	kctx, err := parser.Parse(args)
	if err != nil {
		parser.Errorf("%s", err)
		fmt.Fprintln(stderr, "Run 'parcours --help' for usage.")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, log: cli.Logger(stderr)}
	slog.SetDefault(e.log)
	if cli.CPUProfile != "" {
		f, err := os.Create(cli.CPUProfile)
		if err != nil {
			fmt.Fprintln(stderr, "parcours:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "parcours:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if cli.CPUProfileOnSignal != "" {
		defer profileOnSignal(cli.CPUProfileOnSignal, stderr)()
	}
	if err := kctx.Run(&cli.Globals, e); err != nil {
		fmt.Fprintln(stderr, "parcours:", err)
		return 1
	}
	return 0
}

// profileOnSignal starts a CPU profile into path at the first SIGUSR1 and
// writes a heap profile to path.heap at a SIGUSR2 that finds more of the
// heap in use than the last one written; the function it returns stops
// the CPU profile.
func profileOnSignal(path string, stderr io.Writer) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1, syscall.SIGUSR2)
	var mu sync.Mutex
	var f *os.File
	var heapWritten uint64
	done := make(chan struct{})
	go func() {
		for {
			var s os.Signal
			select {
			case s = <-sig:
			case <-done:
				return
			}
			mu.Lock()
			var err error
			switch {
			case s == syscall.SIGUSR2:
				// The heap at its largest so far: written only when
				// more is in use than at the last one written.
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse <= heapWritten {
					break
				}
				heapWritten = ms.HeapInuse
				var h *os.File
				if h, err = os.Create(path + ".heap"); err == nil {
					err = pprof.Lookup("heap").WriteTo(h, 0)
					h.Close()
				}
			case f == nil:
				if f, err = os.Create(path); err == nil {
					err = pprof.StartCPUProfile(f)
				}
			}
			mu.Unlock()
			if err != nil {
				fmt.Fprintln(stderr, "parcours: profile:", err)
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
		mu.Lock()
		defer mu.Unlock()
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
		}
	}
}

// exitOnPanic turns a panic in a command into its exit code: kong's exit
// requests pass; anything else is a bug, which no input may turn into a
// Go crash (exit 2 and the runtime's dump): it is reported as such, with
// the stack for the report, and the command fails like any other.
func exitOnPanic(r any, stderr io.Writer) int {
	if c, ok := r.(exitCode); ok {
		return int(c)
	}
	fmt.Fprintf(stderr, "parcours: internal error (a bug, please report it with this output): %v\n%s", r, debug.Stack())
	return 1
}

// openStore opens the store the globals name and applies migrations.
func openStore(ctx context.Context, g *config.Globals) (store.Store, error) {
	var st store.Store
	switch {
	case g.Database == "":
		s, err := sqlite.Open(ctx, g.DataDir)
		if err != nil {
			return nil, err
		}
		st = s
	case strings.HasPrefix(g.Database, "postgres://"), strings.HasPrefix(g.Database, "postgresql://"):
		s, err := postgres.Open(ctx, g.Database)
		if err != nil {
			return nil, err
		}
		st = s
	default:
		return nil, errors.New("--database must be a postgres:// URL, or empty for the embedded store")
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// defaultDataDir is --data-dir's default (config.Globals).
const defaultDataDir = "./parcours-data"

// openExisting opens the store of a data directory that must already hold
// data: a command that reads (profiles, templates, replay) must not create
// an empty store where it was run while the data is elsewhere.
func openExisting(ctx context.Context, g *config.Globals) (store.Store, error) {
	if g.Database == "" && !dataDirExists(g.DataDir) {
		return nil, errors.New(whereIsTheData(g.DataDir))
	}
	return openStore(ctx, g)
}

// openOrCreate opens the store, creating the data directory if there is
// none, and says so: a first step (sources create, a commerce import
// before serve) may create it, but not while the user runs a server on
// another directory (then it is most likely a mistake).
func openOrCreate(ctx context.Context, g *config.Globals, e *env) (store.Store, error) {
	if g.Database == "" && !dataDirExists(g.DataDir) {
		// The default directory, relative to where the command runs, is
		// the one people end up in by mistake; one they named is meant.
		implicit := g.DataDir == defaultDataDir && os.Getenv("PARCOURS_DATA_DIR") == ""
		if others := otherServers(g.DataDir); implicit && len(others) > 0 {
			return nil, fmt.Errorf("%s\n  or, to create a new data directory here, name it: --data-dir %s",
				whereIsTheData(g.DataDir), absPath(g.DataDir))
		}
		fmt.Fprintf(e.stderr, "parcours: new data directory %s (there was no Parcours data here)\n", absPath(g.DataDir))
	}
	return openStore(ctx, g)
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// describeStore says where the data is, for people.
func describeStore(g *config.Globals, st store.Store) string {
	if s, ok := st.(*sqlite.Store); ok {
		return "sqlite (" + s.Path() + ")"
	}
	return st.Engine() + " (" + redactURL(g.Database) + ")"
}

// redactURL hides the password of a database URL.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	cred, host, ok := strings.Cut(rest, "@")
	if !ok {
		return u
	}
	if user, _, hasPass := strings.Cut(cred, ":"); hasPass {
		return scheme + "://" + user + ":****@" + host
	}
	return u
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type versionCmd struct{}

func (versionCmd) Run(g *config.Globals, e *env) error {
	v := version()
	if g.JSON {
		return printJSON(e.stdout, map[string]string{"version": v})
	}
	fmt.Fprintln(e.stdout, "parcours", v)
	return nil
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

type migrateCmd struct{}

func (migrateCmd) Run(g *config.Globals, e *env) error {
	st, err := openStore(e.ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	if g.JSON {
		return printJSON(e.stdout, map[string]string{"status": "migrated", "store": st.Engine()})
	}
	fmt.Fprintln(e.stdout, "schema up to date:", describeStore(g, st))
	return nil
}
