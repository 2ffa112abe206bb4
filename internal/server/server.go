// Package server wires the parts into the one process that `parcours serve`
// runs: the tracking API, the management API, health and metrics, and the
// background work (group commit, dedup pruning).
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/console"
	"github.com/parcours/parcours/internal/conversation"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/httpapi"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/partition"
	"github.com/parcours/parcours/internal/pipeline"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/stream"
	"github.com/parcours/parcours/internal/unify"
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// Config is what the stages compute with (identity rules, physical
	// stores, time zone, behaviour index, low stock, message settings):
	// the same configuration the offline commands and the simulator
	// assemble the pipeline from.
	pipeline.Config
	// DedupWindow is how long (source, messageId) keys are remembered;
	// default 7 days.
	DedupWindow time.Duration
	// DecodeOnly makes ingestion validate events and drop them instead of
	// storing them: the floor that benchmarks compare the real path with.
	DecodeOnly bool
	// LogTail is how many of the newest events the store keeps decoded
	// for the stages (store.Tail); 0: the default, negative: none.
	LogTail int
	Ingest  collect.HandlerOptions
	// MaxConnsPerClient caps the connections one client address holds
	// open in Serve; 0: no cap (serve's flag defaults to
	// collect.DefaultMaxConnsPerClient).
	MaxConnsPerClient int
	Committer         collect.CommitterOptions
	Clock             clock.Clock
	Logger            *slog.Logger
	// RFMEvery is how often RFM scores are recomputed; default 24h.
	RFMEvery time.Duration
	// ReservationSweep is how often expired reservations are released;
	// default 30s.
	ReservationSweep time.Duration
	// Providers serve the message channels: nil, every send fails with
	// "no provider configured for channel X". TemplatesDir holds template
	// files imported at start.
	Providers    message.Providers
	TemplatesDir string
	// ProviderConfig is the providers file: its callbacks are served
	// under /hooks/ and its SMTP bounce servers started. Nil: none.
	ProviderConfig *providers.Config
	// JourneySender delivers the journeys' send steps; nil: the message
	// pipeline does.
	JourneySender journey.Sender
	// Stream, when set, makes this node one of several sharing the store
	// (docs/scale.md): ingestion acknowledges once JetStream has stored
	// the events, and the node holding the pipeline lease relays the
	// stream into the event log and runs the stages.
	Stream *stream.Stream
	// LeaseLost is called when this node loses the pipeline lease while
	// running (another node may run the stages now): its stages have been
	// told to stop, and the process should exit so that a supervisor
	// restarts it. Nil: the node only logs it.
	LeaseLost func()
	// Addr is the address the node serves at, as other nodes and
	// operators reach it (shown by parcours cluster status).
	Addr string
	// Access bounds the management API's keys and sessions: rate limit
	// per key, login policy, secure cookies (docs/security.md).
	Access httpapi.AccessOptions
	// Console configures the web app under /console/ (its API is the
	// server's own handler, set by New).
	Console console.Options
	// RetentionEvery is how often Config.Retention is applied in the
	// background (privacy.Retention); 0: never (POST
	// /api/v1/retention/run still runs a pass).
	RetentionEvery time.Duration
}

// Server is a running Parcours.
type Server struct {
	st       store.Store
	opts     Options
	log      *slog.Logger
	notifier *eventlog.Notifier
	commit   *collect.Committer
	keys     *collect.Keys
	ingest   *collect.Handler
	registry *prometheus.Registry
	handler  http.Handler
	routes   []httpapi.Route
	ready    atomic.Bool
	// pipeline is the stages, assembled from Options.Config; the fields
	// below name its parts.
	pipeline *pipeline.Pipeline
	unify    *unify.Stage
	segments *segment.Stage
	index    *segment.Index
	// unified is published by unify after each batch: the segment stage
	// follows it.
	unified *eventlog.Notifier
	// behindJourneys wakes the journey engine once the segment stage and
	// the consent consumer have both passed an event.
	behindJourneys *eventlog.Gate
	commerce       *commerce.Service
	messages       *message.Pipeline
	bounces        func() // stops the bounce servers
	journeys       *journey.Engine
	measure        *measure.Service
	conversations  *conversation.Service

	connsRefused prometheus.Counter

	stop   chan struct{}
	cancel context.CancelFunc
	// startMu orders starting the stages under a lease (clustered.go)
	// with Close.
	startMu sync.Mutex
	wg      sync.WaitGroup
	relay   sync.WaitGroup // commerce's outbox relay: stopped before the committer

	// publisher is the ingestion sink of a clustered node (nil alone).
	publisher *stream.Publisher

	// partitions holds this node's share of the segment stage's
	// partitions (nil unless Config.Partitions > 0 in a cluster).
	partitions *partition.Coordinator
}

// New assembles a server over st, which must be migrated.
func New(st store.Store, o Options) *Server {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = 7 * 24 * time.Hour
	}
	s := &Server{st: st, opts: o, log: o.Logger, notifier: eventlog.NewNotifier(), stop: make(chan struct{})}
	s.registry = prometheus.NewRegistry()
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.LogTail >= 0 {
		useTail(st, o.LogTail, s.registry)
	}

	co := o.Committer
	co.OnCommit = s.notifier.Publish
	co.Logger = o.Logger
	s.commit = collect.NewCommitter(st, co)
	collect.CommitterMetrics(s.registry, s.commit)

	var sink collect.Sink = s.commit
	if o.Stream != nil {
		s.publisher = o.Stream.Publisher(s.registry)
		sink = s.publisher
		o.Stream.Register(s.registry)
	}
	if o.DecodeOnly {
		sink = collect.Discard{}
	}
	metrics := collect.NewMetrics(s.registry)
	s.keys = collect.NewKeys(st, o.Clock, 5*time.Second)
	ho := o.Ingest
	ho.Logger = o.Logger
	ingest := collect.NewHandler(s.keys, collect.NewIngester(sink, metrics, o.Logger), o.Clock, metrics, ho)
	s.ingest = ingest
	s.connsRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "parcours_connections_refused_total",
		Help: "Connections answered 503 and closed because their address held --max-conns-per-client already.",
	})
	s.registry.MustRegister(s.connsRefused)
	if o.RFMEvery <= 0 {
		o.RFMEvery = 24 * time.Hour
		s.opts.RFMEvery = o.RFMEvery
	}
	s.pipeline = pipeline.New(st, o.Config, pipeline.Runtime{
		Clock: o.Clock, Logger: o.Logger, Emit: s.commit, Yield: s.commit.Busy, Registry: s.registry,
		Providers: o.Providers, Sender: o.JourneySender, SendConcurrency: 32,
		Webhooks: journey.HTTPCaller{Secret: webhookSecret(o.ProviderConfig), Clock: o.Clock},
	})
	p := s.pipeline
	s.registry.MustRegister(newStageLag(st, o.Clock, p.SegmentCheckpoints()...))
	if err := p.IndexErr(); err != nil {
		o.Logger.Error("segments: behaviour index not opened; previews read the timelines", "err", err)
	}
	s.unify, s.segments, s.index, s.unified, s.behindJourneys = p.Unify, p.Segments, p.Index, p.Unified, p.BehindJourneys
	s.commerce, s.messages, s.journeys, s.measure = p.Commerce, p.Messages, p.Journeys, p.Measure
	apiv1 := httpapi.New(st, s.keys, o.Clock, o.Logger, &httpapi.Profiles{
		Unify: p, Stores: p.Config().Stores, Rules: p.Config().Rules, Privacy: p.Privacy, Retention: p.Retention,
	}, s.segments).WithCommerce(s.commerce).WithJourneys(s.journeys).WithMeasure(s.measure).WithAccess(o.Access).
		WithClienteling(newClienteling(st, s.commerce, s.commit, p.Config().Rules, o.Clock, storeRecommender{p.Recommend})).WithSurveys(p.Surveys).
		WithRecommendations(p.Recommend, s.commit).
		WithLoyalty(p.Loyalty)
	apiv1.SetMessages(s.messages)
	s.conversations = newConversations(st, s.messages, s.commit, o)
	apiv1.WithConversations(s.conversations)
	// The chain of inbound texts: surveys first (their "0".."10"), then
	// conversations, which take every text left.
	s.messages.OnInbound(s.conversations)
	s.messages.OnDelivery(s.conversations.Delivered)
	// The console calls the management API in process through the
	// server's handler, which exists only once the routes, the console's
	// among them, are registered: it reaches it through s.
	co2 := o.Console
	co2.API = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) })
	if co2.Clock == nil {
		co2.Clock = o.Clock
	}
	if co2.Logger == nil {
		co2.Logger = o.Logger
	}
	if co2.Zone == nil {
		co2.Zone = p.Config().Zone
	}
	co2.SecureCookies = co2.SecureCookies || o.Access.SecureCookies
	con := console.New(co2)
	s.routes = httpapi.Routes(apiv1, httpapi.Edge{
		Tracking: ingest,
		Public:   s.messages,
		Hook:     newHooks(o.ProviderConfig, s.messages, o.Messages.BaseURL, o.Clock.Now, o.Logger).serve,
		Metrics:  promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}).ServeHTTP,
		Health: func(w http.ResponseWriter, r *http.Request) {
			httpjson.Write(w, http.StatusOK, map[string]string{"status": "ok"})
		},
		Ready:       s.readyz,
		Console:     con,
		ConsoleRoot: con.Root,
	})
	mux := apiv1.Mux(s.routes)
	s.handler = httpjson.WithRequestID(httpjson.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The mux answers unclean paths (//v1/track) with a redirect, and
		// a redirected POST loses its events: ingestion paths are cleaned
		// (a trailing slash too) before the mux sees them, and /v1 is
		// answered by the tracking API's 404 rather than redirected to /v1/.
		switch clean := path.Clean("/" + r.URL.Path); {
		case strings.HasPrefix(clean, "/v1/"):
			r.URL.Path = clean
		case clean == "/v1":
			r.URL.Path = "/v1/"
		case clean == "/sourceConfig":
			// RudderStack's mobile SDKs ask without the slash.
			r.URL.Path = "/sourceConfig/"
		}
		mux.ServeHTTP(w, r)
	}), o.Logger))
	return s
}

// Registry returns the server's Prometheus registry.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Notifier returns the notifier the committer publishes to.
func (s *Server) Notifier() *eventlog.Notifier { return s.notifier }

// Routes returns the route table the handler serves (httpapi.Routes).
func (s *Server) Routes() []httpapi.Route { return s.routes }

// Handler returns the HTTP handler of every endpoint.
func (s *Server) Handler() http.Handler { return s.handler }

// Start launches the background work. Stop it with Close.
func (s *Server) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.commit.Run() }()
	go func() { defer s.wg.Done(); s.pruneDedup() }()
	if s.opts.Stream != nil {
		s.startClustered(ctx)
	} else {
		s.startStages(ctx)
	}
	s.ready.Store(true)
}

// startStages starts every stage that follows the log, and the sweeps and
// timers beside them, until ctx ends.
func (s *Server) startStages(ctx context.Context) {
	if err := s.segments.Load(ctx); err != nil {
		s.log.Error("segments: load definitions", "err", err)
	}
	s.wg.Add(4)
	go func() { defer s.wg.Done(); s.runMessages(ctx) }()
	go func() { defer s.wg.Done(); s.runConsent(ctx) }()
	go func() { defer s.wg.Done(); s.runUnify(ctx) }()
	go func() { defer s.wg.Done(); s.scoreRFM(ctx) }()
	if s.opts.Config.Partitions > 0 {
		// The segment stage runs in partitions, on every node
		// (startPartitions); here, behind unify, the router.
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.runRouter(ctx) }()
	} else {
		s.wg.Add(3)
		go func() {
			defer s.wg.Done()
			if err := s.segments.RunIndex(ctx, 30*time.Second); err != nil && ctx.Err() == nil {
				s.log.Error("segments: behaviour index stopped; previews read the timelines", "err", err)
			}
		}()
		go func() { defer s.wg.Done(); s.runSegments(ctx) }()
		go func() { defer s.wg.Done(); s.segments.RunTimers(ctx, time.Second) }()
	}
	s.startCommerce(ctx)
	s.startMeasure(ctx)
	s.startRecommend(ctx)
	s.startAccess(ctx)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.conversations.RunSLA(ctx, 10*time.Second) }()
	stop, err := startBounces(ctx, s.opts.ProviderConfig, s.messages, s.conversations, s.log)
	if err != nil {
		s.log.Error("bounces: not started", "err", err)
		stop = func() {}
	}
	s.bounces = stop
	s.startJourneys(ctx)
	if every := s.opts.RetentionEvery; every > 0 {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); _ = s.pipeline.Retention.Loop(ctx, every) }()
	}
}

// Pipeline returns the stages the server runs.
func (s *Server) Pipeline() *pipeline.Pipeline { return s.pipeline }

// Unify returns the unify stage.
func (s *Server) Unify() *unify.Stage { return s.unify }

// runUnify follows the log into profiles, restarting after a failure.
func (s *Server) runUnify(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.unify.Run(ctx, s.notifier)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Error("unify stopped; restarting in 5 seconds", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// Segments returns the segment stage.
func (s *Server) Segments() *segment.Stage { return s.segments }

// runSegments follows the log behind unify into segment memberships,
// restarting after a failure.
func (s *Server) runSegments(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.segments.Run(ctx, s.unified)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Error("segments stopped; restarting in 5 seconds", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		if err := s.segments.Load(ctx); err != nil {
			s.log.Error("segments: load definitions", "err", err)
		}
	}
}

// scoreRFM recomputes RFM scores at start if there are none, then every
// RFMEvery.
func (s *Server) scoreRFM(ctx context.Context) {
	first := time.Minute
	if r := s.unify.RFM(); r != nil {
		first = max(time.Minute, s.opts.RFMEvery-s.opts.Clock.Now().Sub(r.At))
	}
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if r, err := s.unify.ScoreRFM(ctx); err != nil {
			s.log.Error("rfm: scoring failed", "err", err)
		} else {
			s.log.Info("rfm: scored customers", "customers", len(r.Scores))
		}
		t.Reset(s.opts.RFMEvery)
	}
}

// Close stops the background work. Submissions already queued are
// committed (and acknowledged) before it returns.
func (s *Server) Close() {
	s.ready.Store(false)
	close(s.stop)
	s.startMu.Lock()
	if s.cancel != nil {
		s.cancel()
	}
	bounces := s.bounces
	s.startMu.Unlock()
	if bounces != nil {
		bounces()
	}
	s.relay.Wait() // its last delivery goes through the committer
	s.commit.Close()
	s.wg.Wait()
	if s.opts.Stream != nil { // the stages have stopped: another node may run them now
		s.opts.Stream.Release(PipelineLease)
	}
	if err := s.pipeline.Close(); err != nil {
		s.log.Error("closing the pipeline", "err", err)
	}
}

// Serve serves HTTP on l until ctx ends, then shuts down gracefully: it
// stops accepting connections, lets requests in flight finish (within 10s),
// and commits what they submitted.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	l = collect.LimitConnsPerClient(l, s.opts.MaxConnsPerClient, s.connsRefused.Inc)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if !s.ready.Load() {
		httpjson.Fail(w, r, s.log, problem.New(problem.KindUnavailable, "not_ready", "starting or shutting down"))
		return
	}
	if err := s.st.Ping(ctx); err != nil {
		httpjson.Fail(w, r, s.log, problem.New(problem.KindUnavailable, "not_ready", "store: "+err.Error()))
		return
	}
	// Saturated ingestion is not ready: a load balancer should send the
	// tracking API's clients elsewhere until it recovers.
	sat := s.ingest.Saturation()
	if sat.Saturated {
		httpjson.Fail(w, r, s.log, &problem.Error{Kind: problem.KindUnavailable, Code: "saturated", Message: "ingestion is saturated: " + sat.Reason,
			Details: map[string]any{"ingest": sat, "queued_events": s.commit.Queued()}})
		return
	}
	body := map[string]any{"status": "ready", "store": s.st.Engine(), "queued_events": s.commit.Queued(), "ingest": sat}
	if s.opts.Stream != nil {
		// A node that cannot reach NATS cannot acknowledge anything.
		cluster, err := s.clusterReady(ctx)
		if err != nil {
			httpjson.Fail(w, r, s.log, &problem.Error{Kind: problem.KindUnavailable, Code: "not_ready", Message: "stream: " + err.Error(),
				Details: map[string]any{"cluster": cluster}})
			return
		}
		body["cluster"] = cluster
		if s.partitions != nil {
			// This node's share of the segment stage (docs/scale.md);
			// the lag of each partition is in /metrics and cluster status.
			body["partitions"] = map[string]any{"total": s.opts.Config.Partitions, "held": s.partitions.Held()}
		}
	}
	httpjson.Write(w, http.StatusOK, body)
}

// pruneDedup forgets dedup keys older than the window, hourly.
func (s *Server) pruneDedup() {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		n, err := s.st.PruneDedup(ctx, s.opts.Clock.Now().Add(-s.opts.DedupWindow))
		cancel()
		if err != nil {
			s.log.Error("dedup: prune failed", "err", err)
		} else if n > 0 {
			s.log.Info("dedup: pruned keys past the window", "keys", n, "window", s.opts.DedupWindow)
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// useTail makes st keep the newest events it appends, decoded, for the
// stages that read the log close behind ingestion (store.Tail): the log is
// then read from the database and decoded only by a stage that fell
// behind the tail, not once per stage. Its hits and misses are metrics.
func useTail(st store.Store, events int, reg *prometheus.Registry) {
	tl, ok := st.(store.Tailed)
	if !ok {
		return
	}
	tail := store.NewTail(events, 0)
	tl.UseTail(tail)
	for _, r := range []struct {
		result string
		get    func(store.TailStats) int64
	}{{"hit", func(s store.TailStats) int64 { return s.Hits }}, {"miss", func(s store.TailStats) int64 { return s.Misses }}} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "parcours_log_tail_reads_total",
			Help:        "Reads of the event log by the stages, answered from the tail of decoded events (hit) or from the database (miss).",
			ConstLabels: prometheus.Labels{"result": r.result},
		}, func() float64 { return float64(r.get(tail.Stats())) }))
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "parcours_log_tail_events",
		Help: "Decoded events held in the tail of the event log.",
	}, func() float64 { return float64(tail.Stats().Events) }))
}
