// Package message is the message pipeline: it turns a send request into a
// rendered message in the durable outbox (after consent, suppressions,
// frequency caps and quiet hours), and its workers hand the outbox to the
// providers with retries, backoff and per-provider rate limits. Receipts,
// tracking hits and unsubscribes come back through it and become events on
// the customer's timeline.
//
// Providers themselves (SMTP, Twilio, FCM, ...) live in their own packages
// and implement provider.Provider; the pipeline only asks a Providers for
// the one serving a channel.
package message

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// Store is what the pipeline keeps and reads.
type Store interface {
	store.Messages
	Profile(ctx context.Context, id int64) (*profile.Profile, error)
	// LoadProfiles returns the live profiles among ids (a batch of sends).
	LoadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, error)
	Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error)
	MergeLog(ctx context.Context, profileID int64) ([]store.MergeRecord, error)
	Checkpoint(ctx context.Context, consumer string) (int64, error)
	SaveCheckpoint(ctx context.Context, consumer string, seq int64) error
	ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error)
}

// Sink appends the pipeline's events (Message Sent, ...) to the event log;
// the server passes its collect.Committer.
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Limits are a provider's sending limits.
type Limits struct {
	// Rate is the most messages per second sent to the provider by this
	// process; 0 is unlimited.
	Rate float64
	// Burst is how many may go at once above the rate; default 1.
	Burst int
}

// Providers finds the provider serving a channel.
type Providers interface {
	For(ch provider.Channel) (provider.Provider, Limits, bool)
}

// ErrInvalid marks a request the pipeline refuses; the error that wraps it
// says why (a problem of kind invalid, code invalid_request).
var ErrInvalid = problem.New(problem.KindInvalid, "invalid_request", "invalid message request")

// Options configure a Pipeline. Zero values take the defaults.
type Options struct {
	// Yield makes the consent consumer wait while ingestion is saturated.
	Yield func() bool
	// OnConsentBatch, if set, is told the last seq of each batch the
	// consent consumer handled.
	OnConsentBatch func(seq int64)
	Clock          clock.Clock
	Logger         *slog.Logger
	// Workers is how many messages are handed to providers at once;
	// default 16.
	Workers int
	// ClaimBatch is how many due messages one claim leases; default 200.
	ClaimBatch int
	// Lease is how long a claimed message is a worker's before another
	// may take it (a crashed process's claims come back after it); it must
	// exceed a provider call's timeout. Default 2 minutes.
	Lease time.Duration
	// Node names this process in its leases; it must stay the same across
	// restarts and be held by one live process at a time (serve keeps it
	// in the data directory, which it locks). When set, Run first takes
	// back the messages the node's previous run left leased (see
	// reclaim), instead of letting them wait for their leases to expire.
	// "": leases are anonymous and only expiry brings them back.
	Node string
	// Poll is how often workers look for due messages when not woken;
	// default 1s.
	Poll time.Duration
	// MaxAttempts is how many tries a message gets before it fails;
	// default 8. Backoff is the first retry's delay (default 30s), doubled
	// each time up to MaxBackoff (default 6h), with jitter.
	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration

	// BaseURL is the public URL of this server, for tracking and
	// unsubscribe links (e.g. https://crm.example.com).
	BaseURL string
	// Secret signs tracking and unsubscribe tokens (HMAC-SHA256).
	Secret []byte
	// UnsubscribeMailto is the address of the mailto: List-Unsubscribe
	// entry; empty: none.
	UnsubscribeMailto string
	// Rules normalise addresses (inbound SMS, receipts) as identity
	// resolution does; nil: the defaults.
	Rules *identity.Rules
	// Stores are the physical stores (the nearest_store computed trait,
	// the default "store" variable); RFM returns the last RFM scoring.
	Stores []place.Location
	RFM    func() *profile.RFM
	// Commerce gives templates the order a message is about and the
	// stores' addresses; nil: the event's properties and Stores only.
	Commerce Commerce
	// Recommendations give templates the recommendations variable; nil:
	// its lists are empty.
	Recommendations Recommendations
	// Registerer receives the pipeline's Prometheus metrics; nil: none.
	Registerer prometheus.Registerer
	// Policy holds topics, frequency caps, quiet hours and channel rules.
	Policy Policy
}

// Pipeline is the message pipeline.
type Pipeline struct {
	st        Store
	sink      Sink
	providers Providers
	o         Options
	clock     clock.Clock
	log       *slog.Logger

	wake    chan struct{} // a message became due now
	notify  chan struct{} // states to announce
	limits  limiters
	pending pendingSends
	caps    stripes
	group   groupEnqueue
	metrics metrics
	inbound inboundHandlers
	watch   deliveryObservers // OnDelivery
}

// New returns a pipeline. providers may be nil: every send then fails with
// "no provider configured for channel X".
func New(st Store, sink Sink, providers Providers, o Options) *Pipeline {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.ClaimBatch <= 0 {
		o.ClaimBatch = 200
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.Backoff <= 0 {
		o.Backoff = 30 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 6 * time.Hour
	}
	if o.Rules == nil {
		o.Rules = identity.DefaultRules()
	}
	if len(o.Secret) == 0 {
		// Never sign with an empty key: anyone could forge unsubscribe
		// links. A random one works until the process stops.
		o.Secret = []byte(rand.Text() + rand.Text())
		o.Logger.Warn("messages: no link secret configured; tracking and unsubscribe links of this run stop working at restart")
	}
	o.Policy.defaults()
	return &Pipeline{
		st: st, sink: sink, providers: providers, o: o, clock: o.Clock, log: o.Logger,
		wake: make(chan struct{}, 1), notify: make(chan struct{}, 1),
		limits: limiters{m: map[string]*limiter{}}, pending: pendingSends{m: map[int64][]pendingSend{}},
		metrics: newMetrics(o.Registerer),
	}
}

// poke wakes a loop waiting on ch without blocking.
func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// stripes are locks by profile: frequency-cap checks of one profile run one
// at a time in this process.
type stripes [64]sync.Mutex

func (s *stripes) lock(profile int64) func() {
	m := &s[uint64(profile)%uint64(len(s))]
	m.Lock()
	return m.Unlock
}
