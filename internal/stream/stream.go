// Package stream runs ingestion on NATS JetStream, for several serve nodes
// sharing one PostgreSQL store (docs/scale.md): a Publisher acknowledges
// events once JetStream has stored them, a Relay copies the stream into the
// event log every stage reads, and a lease in a JetStream key-value bucket
// lets one live node at a time run the relay.
package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Options say where the stream is and how it is kept. Zero values take the
// defaults.
type Options struct {
	// URL is the NATS server (several, comma-separated, for a cluster).
	URL string
	// Name is the stream's name (default PARCOURS_EVENTS); its subjects
	// are Name.events and Name.rejections, its leases are in the
	// key-value bucket Name_LEASES.
	Name string
	// Replicas is the stream's and the lease bucket's replication
	// (default 1; 3 on a 3-server NATS cluster).
	Replicas int
	// DedupWindow is how long JetStream remembers a Nats-Msg-Id (default
	// 2 minutes).
	DedupWindow time.Duration
	// Retention is how long the stream keeps a message (default 24h): the
	// relay must have copied it by then.
	Retention time.Duration
	// MaxLag bounds the relay's lag, in stream messages, beyond which
	// the Publisher refuses events (default DefaultMaxLag; negative: no
	// bound by count, the bound by age still holds).
	MaxLag int64
	// Node names this process in the leases it holds.
	Node string
	// Inspect connects to an existing stream without creating or changing
	// anything (parcours cluster status).
	Inspect bool
	Logger  *slog.Logger
}

// Stream is a connection to JetStream with the event stream and the lease
// bucket in place.
type Stream struct {
	opts   Options
	nc     *nats.Conn
	js     jetstream.JetStream
	leases jetstream.KeyValue
	log    *slog.Logger

	mu   sync.Mutex
	kept map[string]uint64 // leases held past their Hold, for Release

	leaseEvents *prometheus.CounterVec // by lease and event: acquired, lost, released
	leaseHeld   *prometheus.GaugeVec
}

// Default settings (docs/scale.md).
const (
	DefaultName        = "PARCOURS_EVENTS"
	DefaultDedupWindow = 2 * time.Minute
	DefaultRetention   = 24 * time.Hour
	// LeaseTTL is how long a lease outlives its holder's last renewal.
	LeaseTTL = 6 * time.Second
)

// Connect connects to NATS, and creates or updates the stream and the
// lease bucket with o's settings.
func Connect(ctx context.Context, o Options) (*Stream, error) {
	if o.URL == "" {
		return nil, errors.New("stream: no NATS URL (give --nats nats://host:4222)")
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = DefaultDedupWindow
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxLag == 0 {
		o.MaxLag = DefaultMaxLag
	}
	log := o.Logger
	nc, err := nats.Connect(o.URL, nats.Name("parcours "+o.Node), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats: disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats: reconnected", "server", c.ConnectedUrl()) }))
	if err != nil {
		return nil, fmt.Errorf("stream: connect to NATS at %s: %w (is nats-server running with -js?)", o.URL, err)
	}
	// Many requests publish at once, each waiting for its own acks: the
	// pending bound must hold them all (16 batches at the cap of 5,000).
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1<<17), jetstream.WithPublishAsyncTimeout(5*time.Second))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("stream: JetStream on %s: %w", o.URL, err)
	}
	s := &Stream{opts: o, nc: nc, js: js, log: log,
		leaseEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_cluster_lease_events_total",
			Help: "Leases this node acquired, lost (another node may hold it now) or released, by lease: each acquisition is a change of owner."},
			[]string{"lease", "event"}),
		leaseHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "parcours_cluster_lease_held", Help: "1 while this node holds the lease."}, []string{"lease"}),
	}
	if o.Inspect {
		if _, err := js.Stream(ctx, o.Name); err != nil {
			nc.Close()
			return nil, fmt.Errorf("stream: no stream %s on %s: %w (has a serve --nats started with this --nats-stream?)", o.Name, o.URL, err)
		}
		if s.leases, err = js.KeyValue(ctx, o.Name+"_LEASES"); err != nil {
			nc.Close()
			return nil, fmt.Errorf("stream: no key-value bucket %s_LEASES on %s: %w", o.Name, o.URL, err)
		}
		return s, nil
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        o.Name,
		Subjects:    []string{s.eventSubject(), s.rejectionSubject()},
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      o.Retention,
		Duplicates:  o.DedupWindow,
		Description: "Parcours: events acknowledged to clients, waiting to be copied into the event log",
	}); err != nil {
		nc.Close()
		return nil, fmt.Errorf("stream: create or update stream %s (replicas %d): %w (JetStream enabled? enough servers for the replicas?)", o.Name, o.Replicas, err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      o.Name + "_LEASES",
		Description: "Parcours: which node runs what",
		History:     1,
		TTL:         LeaseTTL,
		Storage:     jetstream.FileStorage,
		Replicas:    o.Replicas,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("stream: create or update key-value bucket %s_LEASES: %w", o.Name, err)
	}
	s.leases = kv
	return s, nil
}

// Register adds the node's lease metrics to reg.
func (s *Stream) Register(reg prometheus.Registerer) {
	reg.MustRegister(s.leaseEvents, s.leaseHeld)
}

// MaxLag returns the bound on the relay's lag (Options.MaxLag); 0: none.
func (s *Stream) MaxLag() int64 { return max(s.opts.MaxLag, 0) }

// Node returns the node id this stream holds leases under.
func (s *Stream) Node() string { return s.opts.Node }

// Name returns the stream's name.
func (s *Stream) Name() string { return s.opts.Name }

// Close closes the connection to NATS; nothing acknowledged is lost, it is
// in JetStream already.
func (s *Stream) Close() { s.nc.Close() }

func (s *Stream) eventSubject() string     { return s.opts.Name + ".events" }
func (s *Stream) rejectionSubject() string { return s.opts.Name + ".rejections" }

// Delete removes the stream name and its lease bucket from the NATS server
// at url: what a benchmark or a test created for itself.
func Delete(ctx context.Context, url, name string) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return fmt.Errorf("stream: connect to NATS at %s: %w", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("stream: JetStream on %s: %w", url, err)
	}
	errS := js.DeleteStream(ctx, name)
	errKV := js.DeleteKeyValue(ctx, name+"_LEASES")
	if errS != nil && !errors.Is(errS, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("stream: delete stream %s: %w", name, errS)
	}
	if errKV != nil && !errors.Is(errKV, jetstream.ErrBucketNotFound) && !errors.Is(errKV, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("stream: delete key-value bucket %s_LEASES: %w", name, errKV)
	}
	return nil
}
