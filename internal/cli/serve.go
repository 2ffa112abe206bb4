package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/console"
	"github.com/parcours/parcours/internal/httpapi"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
)

type serveCmd struct {
	Addr        string        `help:"Address to listen on." env:"PARCOURS_ADDR" default:"127.0.0.1:8080"`
	DedupWindow time.Duration `help:"How long a (source, messageId) is remembered to drop resent events." env:"PARCOURS_DEDUP_WINDOW" default:"168h"`
	MaxBody     int64         `help:"Largest ingestion request body, in bytes once decompressed." env:"PARCOURS_MAX_BODY" default:"4194304"`
	MaxInFlight int           `help:"Ingestion requests handled at once; more are answered 503 with Retry-After." env:"PARCOURS_MAX_IN_FLIGHT" default:"512"`
	MaxQueued   int64         `help:"Events waiting for a commit beyond which ingestion answers 503 with Retry-After." env:"PARCOURS_MAX_QUEUED" default:"200000"`
	TrustProxy  bool          `help:"Take the client address from X-Forwarded-For (only behind a proxy you run)." env:"PARCOURS_TRUST_PROXY"`
	// Ingestion under load and hostile clients (docs/ingestion.md).
	MaxWait             time.Duration `help:"Longest an ingestion request waits for a commit to take its events; then 503 with Retry-After, nothing stored." env:"PARCOURS_MAX_WAIT" default:"2s"`
	BodyTimeout         time.Duration `help:"Time a request body with the write key in the Authorization header may take to arrive; slower: 408." env:"PARCOURS_BODY_TIMEOUT" default:"10s"`
	UnkeyedBodyTimeout  time.Duration `help:"Same, for a request without an Authorization header (its key is in the body)." env:"PARCOURS_UNKEYED_BODY_TIMEOUT" default:"2s"`
	MaxUnkeyed          int           `help:"Ingestion requests without an Authorization header handled at once; they never take the slots of keyed requests." env:"PARCOURS_MAX_UNKEYED" default:"64"`
	MaxUnkeyedPerClient int           `help:"Of those, how many one client address may have." env:"PARCOURS_MAX_UNKEYED_PER_CLIENT" default:"8"`
	MaxConnsPerClient   int           `help:"Connections one client address may hold open (0: no cap; behind a proxy, raise it or use 0)." env:"PARCOURS_MAX_CONNS_PER_CLIENT" default:"512"`
	MaxBatchEvents      int           `help:"Events one ingestion request may carry; more: 400." env:"PARCOURS_MAX_BATCH_EVENTS" default:"5000"`
	IngestMemory        int64         `help:"Memory budget, in bytes, of the ingestion requests in flight counted by decoded size; beyond it: 503 with Retry-After." env:"PARCOURS_INGEST_MEMORY" default:"134217728"`
	// The management API's keys and sessions (docs/security.md).
	APIRate        float64       `help:"Requests a second one API key or console session may make (bursts of twice as many; owner keys are not limited; negative: no limit)." env:"PARCOURS_API_RATE" default:"50"`
	SecureCookies  bool          `help:"Mark the session cookie Secure even on plain HTTP (serve behind a TLS proxy)." env:"PARCOURS_SECURE_COOKIES"`
	SessionTTL     time.Duration `help:"How long a console session lasts from login." env:"PARCOURS_SESSION_TTL" default:"12h"`
	AuditRetention time.Duration `help:"How long the audit log keeps an entry (negative: forever)." env:"PARCOURS_AUDIT_RETENTION" default:"8760h"`
	// Commerce.
	ReservationSweep time.Duration `help:"How often reservations past their expiry are released." env:"PARCOURS_RESERVATION_SWEEP" default:"30s"`
	LowStock         int64         `help:"Availability of a SKU at a location at or under which Low Stock is logged (at least 1)." env:"PARCOURS_LOW_STOCK" default:"3"`
	LogTail          int           `help:"Newest events kept decoded in memory for the stages reading the log behind ingestion (bounded to 32 MiB of their JSON too: with the ingestion budget, serve stays under 512 MiB); 0 turns it off: every stage then reads and decodes the log itself." env:"PARCOURS_LOG_TAIL" default:"65536"`
	DecodeOnly       bool          `help:"Benchmark floor: validate events and drop them instead of storing them. Never in production." hidden:""`
	// The demo (docs/console.md).
	Demo          bool `help:"Load a demo retailer into the data directory once (stores, catalog, stock, two months of customers' activity, the example segments, templates and journeys, demo users), capture messages instead of sending them (the console's Captured messages), and print the accounts to sign in with. Use a fresh --data-dir."`
	DemoCustomers int  `help:"Customers the demo generates." default:"300"`
	DemoDays      int  `help:"Days of activity the demo generates." default:"60" hidden:""`
	clusterFlags
	messageFlags
	retentionFlags
}

func (c *serveCmd) Run(g *config.Globals, e *env) error {
	if c.ReservationSweep < time.Second {
		return fmt.Errorf("--reservation-sweep %s: must be at least 1s", c.ReservationSweep)
	}
	if c.LogTail < 0 {
		return fmt.Errorf("--log-tail %d: must be 0 (off) or a number of events", c.LogTail)
	}
	if c.LowStock < 1 {
		return fmt.Errorf("--low-stock %d: must be at least 1 (Low Stock is logged when availability falls to it or below)", c.LowStock)
	}
	var demoDir string
	if c.Demo {
		dir, cleanup, err := demoFiles()
		if err != nil {
			return err
		}
		defer cleanup()
		demoDir = dir
		// The demo's brand is French, and its marketing emails need
		// working unsubscribe links: this server's own address.
		if g.TimeZone == "UTC" {
			g.TimeZone = "Europe/Paris"
		}
		if c.PublicURL == "" {
			c.PublicURL = "http://" + c.Addr
		}
		if !demoLoaded(g.DataDir) {
			fmt.Fprintf(e.stdout, "Demo: importing the stores, the catalog and the stock into %s\n", absPath(g.DataDir))
			if err := demoCommerce(g, dir, io.Discard); err != nil {
				return err
			}
		}
	}
	release, err := lockDataDir(g.DataDir, "stop it first, or give this one another --data-dir")
	if err != nil {
		return err
	}
	defer release()
	if g.StoresFile != "" { // a broken file is refused before anything starts
		if _, err := g.PhysicalStores(); err != nil {
			return err
		}
	}
	st, err := openStore(e.ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := server.EnsureAdminKey(e.ctx, st, g.DataDir, time.Now())
	if err != nil {
		return err
	}
	so, closeProviders, err := c.options(e, g, st)
	if err != nil {
		return err
	}
	defer closeProviders()
	if c.Demo {
		outbox := console.NewOutbox(nil)
		so.Providers = outbox.Providers()
		so.Console.Outbox = outbox
		so.Console.Accounts = DemoAccounts()
	}
	// The node id names this process's outbox leases, so that after a
	// crash it takes them back at once (docs/reliability.md).
	node, releaseNode, err := server.ClaimNode(e.ctx, st, g.DataDir)
	if err != nil {
		return err
	}
	defer releaseNode()
	so.Messages.Node = node
	ctx, leaseLost, err := c.cluster(e, st, node, &so)
	if err != nil {
		return err
	}
	if so.Stream != nil {
		defer so.Stream.Close()
	}
	stores := so.Stores
	set, _ := so.Providers.(message.ProviderSet)
	for ch, p := range set {
		e.log.Info("messages: provider configured", "channel", ch, "provider", p.Provider.Name(), "rate_per_second", p.Limits.Rate)
	}
	l, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (another parcours running? choose another --addr)", c.Addr, err)
	}
	so.Addr = clientURL(l.Addr())
	srv := server.New(st, so)
	srv.Start()
	defer srv.Close()

	url := clientURL(l.Addr())
	removeRecord, err := recordServer(serverInfo{URL: url, PID: os.Getpid(), DataDir: absPath(g.DataDir),
		PublicURL: c.PublicURL, Version: version(), StartedAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	defer removeRecord()
	fmt.Fprintf(e.stdout, "Parcours %s listening on %s\n", version(), url)
	fmt.Fprintf(e.stdout, "  store:      %s\n", describeStore(g, st))
	if so.Stream != nil {
		fmt.Fprintf(e.stdout, "  stream:     %s, JetStream stream %s (acknowledged once in the stream; node %s)\n", c.NATS, so.Stream.Name(), node)
	}
	fmt.Fprintf(e.stdout, "  shops:      %s\n", describeShops(stores))
	if key != "" {
		fmt.Fprintf(e.stdout, "  admin key:  %s\n", key)
		fmt.Fprintf(e.stdout, "              saved to %s; this is the only time it is printed\n", filepath.Join(g.DataDir, server.AdminKeyFile))
	}
	if c.DecodeOnly {
		fmt.Fprintln(e.stdout, "  WARNING:    --decode-only: events are validated and DROPPED, nothing is stored")
	}
	fmt.Fprintf(e.stdout, "  console:    %s/console/\n", url)
	fmt.Fprintf(e.stdout, "  data:       %s (commands run with this --data-dir find this server)\n", absPath(g.DataDir))
	if c.Demo {
		c.startDemo(ctx, e, g, demoDir, url, key)
	}
	fmt.Fprintf(e.stdout, "  next:       parcours%s sources create --name \"Web shop\" --channel web\n", dataDirFlag(g))
	e.log.Info("serving", "addr", l.Addr().String(), "store", st.Engine(), "node", node)
	err = srv.Serve(ctx, l)
	e.log.Info("stopped")
	if err == nil && leaseLost() {
		return errLeaseLost
	}
	return err
}

// clientURL is the URL a client on this machine reaches a listener at: an
// unspecified address (0.0.0.0, ::) is reached on the loopback.
func clientURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
		if ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// dataDirFlag is " --data-dir DIR" when the data directory is not the
// default one, for hints to copy.
func dataDirFlag(g *config.Globals) string {
	if g.DataDir == defaultDataDir {
		return ""
	}
	return " --data-dir " + absPath(g.DataDir)
}

// describeShops says which physical stores nearest_store and near
// conditions know.
func describeShops(stores []place.Location) string {
	if len(stores) == 0 {
		return "none yet (parcours locations import stores.csv, then restart serve, gives nearest_store and near conditions their stores)"
	}
	return fmt.Sprintf("%d physical stores, read at start (restart after a locations import to add new ones)", len(stores))
}

// options assembles what the server starts with: the identity rules, the
// physical stores (the stores file's and the data's), the message flags
// and the providers file, its providers built (close them with the
// returned function), over st, the data directory's store. Run adds the
// listener; ServeOptions gives the same to tests.
func (c *serveCmd) options(e *env, g *config.Globals, st store.Store) (server.Options, func(), error) {
	none := func() {}
	cfg, err := pipelineConfig(e, g, st, &c.messageFlags)
	if err != nil {
		return server.Options{}, none, err
	}
	cfg.LowStock = c.LowStock
	if cfg.Retention, err = c.retentionFlags.policy(); err != nil {
		return server.Options{}, none, err
	}
	so := server.Options{
		RetentionEvery: c.RetentionEvery,
		Config:         cfg,
		DedupWindow:    c.DedupWindow,
		DecodeOnly:     c.DecodeOnly,
		LogTail:        cmp.Or(c.LogTail, -1), // the flag's 0 is "off"
		Ingest: collect.HandlerOptions{MaxBody: c.MaxBody, MaxInFlight: c.MaxInFlight, TrustProxy: c.TrustProxy,
			MaxWait: c.MaxWait, BodyTimeout: c.BodyTimeout, UnkeyedBodyTimeout: c.UnkeyedBodyTimeout,
			MaxUnkeyed: c.MaxUnkeyed, MaxUnkeyedPerClient: c.MaxUnkeyedPerClient, MaxBatchEvents: c.MaxBatchEvents,
			MaxMemory: c.IngestMemory},
		MaxConnsPerClient: c.MaxConnsPerClient,
		Committer:         collect.CommitterOptions{MaxQueuedEvents: c.MaxQueued},
		Clock:             clock.System{},
		Logger:            e.log,
		ReservationSweep:  c.ReservationSweep,
		Access: httpapi.AccessOptions{KeyRate: c.APIRate, SecureCookies: c.SecureCookies, AuditRetention: c.AuditRetention, TrustProxy: c.TrustProxy,
			Login: auth.LoginPolicy{SessionTTL: c.SessionTTL}},
	}
	so.TemplatesDir = c.Templates
	if c.Providers == "" {
		return so, none, nil
	}
	pc, err := providers.Load(c.Providers)
	if err != nil {
		return server.Options{}, none, err
	}
	set, built, err := server.ProviderSet(pc)
	if err != nil {
		return server.Options{}, none, err
	}
	so.Providers, so.ProviderConfig = set, pc
	return so, func() {
		for _, p := range built {
			p.Close()
		}
	}, nil
}

// startDemo prints the demo's accounts and, the first time, loads the
// demo through the running server in the background (its log goes to
// demo-load.log in the data directory).
func (c *serveCmd) startDemo(ctx context.Context, e *env, g *config.Globals, dir, url, key string) {
	fmt.Fprintf(e.stdout, "  demo:       messages are captured, not sent: %s/console/outbox\n", url)
	for _, a := range DemoAccounts() {
		fmt.Fprintf(e.stdout, "              %-22s %-26s %s\n", a.Email, a.Password, a.Role)
	}
	if demoLoaded(g.DataDir) {
		return
	}
	if key == "" {
		var err error
		if key, err = server.ReadAdminKey(g.DataDir); err != nil {
			e.log.Error("demo: not loaded", "err", err)
			return
		}
	}
	logPath := filepath.Join(g.DataDir, "demo-load.log")
	fmt.Fprintf(e.stdout, "  demo:       loading two months of %d customers in the background (log: %s)\n", c.DemoCustomers, logPath)
	go func() {
		f, err := os.Create(logPath)
		if err != nil {
			e.log.Error("demo: not loaded", "err", err)
			return
		}
		defer f.Close()
		start := time.Now()
		if err := demoLoad(ctx, g, dir, url, key, c.DemoCustomers, c.DemoDays, f); err != nil {
			e.log.Error("demo: not loaded", "err", err)
			return
		}
		e.log.Info("demo: loaded", "took", time.Since(start).Round(time.Millisecond).String())
		fmt.Fprintf(e.stdout, "Demo loaded in %s: sign in at %s/console/\n", time.Since(start).Round(time.Second), url)
	}()
}
