package journey

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// Consumer is the journey engine's checkpoint name.
const Consumer = "journey"

// SegmentConsumer is the segment stage's checkpoint: the engine never
// reads past it, so that the profiles and segment memberships it reads
// are those of the events it handles.
const SegmentConsumer = "segment"

// The statuses of a journey.
const (
	StatusLive     = "live"
	StatusPaused   = "paused"
	StatusArchived = "archived"
)

// The statuses of an enrolment.
const (
	EnrolActive    = "active"
	EnrolCompleted = "completed"
	EnrolExited    = "exited"
	EnrolControl   = "control"
)

// Store is what the engine reads and writes.
type Store interface {
	store.Journeys
	Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error)
	LoadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, error)
	SegmentStates(ctx context.Context, profiles []int64) (map[int64][]byte, error)
	ListSegments(ctx context.Context) ([]*store.SegmentRecord, error)
	SegmentMembers(ctx context.Context, segment string, after int64, limit int) ([]store.SegmentMember, error)
	ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error)
	ProfileEvents(ctx context.Context, from, to int64, names []string) ([]store.ProfileEvent, error)
	ListProfiles(ctx context.Context, after int64, limit int) ([]*profile.Profile, error)
	store.JourneyDateTimers
	Checkpoint(ctx context.Context, consumer string) (int64, error)
	SaveCheckpoint(ctx context.Context, consumer string, seq int64) error
}

// Sink receives the events the engine emits (update_trait's identify);
// collect.Committer is the real one.
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// defaultOwner names the leases of an engine given no Owner: several
// such engines on one store cannot tell their leases apart, so none takes
// leases back at start.
const defaultOwner = "engine"

// Options configure an Engine.
type Options struct {
	// After names the log consumers the engine stays behind (it reads no
	// event they have not handled); default: the segment stage. The
	// server adds the consent consumer, so that an opt-in and the event
	// that triggers a send in the same batch are seen in that order.
	After  []string
	Clock  clock.Clock
	Logger *slog.Logger
	Rules  *identity.Rules
	Stores []place.Location
	// Sender delivers send steps; nil records "no sender configured" and
	// goes on.
	Sender Sender
	// Webhooks calls webhook steps' URLs (HTTPCaller); nil: the step is
	// traced and skipped.
	Webhooks Caller
	// Emit receives update_trait's identify events and the Task Created
	// events; nil: update_trait is traced and skipped.
	Emit Sink
	// Stock answers in_stock branches (CommerceStock); nil: they never
	// hold, and the trace says so.
	Stock StockReader
	// Tasks keeps the task steps' tasks; nil: the step is traced and
	// skipped.
	Tasks TaskStore
	// Trace, if set, is told every step taken (the simulator prints them).
	Trace func(TraceEntry)
	// Consent returns profiles' current channel-level consent from the
	// consent ledger (the message pipeline's rule), for branch conditions
	// (reachable, consent); nil: the opt-in traits alone decide, as in the
	// simulator.
	Consent func(ctx context.Context, profiles []int64) (map[int64]map[string]bool, error)
	// SendConcurrency is how many enrolments of a claimed batch may wait
	// on their sender at once; default 1 (the simulator's order). Above
	// 1 with a BatchSender, every enrolment of the batch may wait at once,
	// their sends gathered into batches.
	SendConcurrency int
	// Owner names this worker in leases; default "engine". serve gives
	// its node id, which stays the same across restarts: RunTimers then
	// takes back at start the leases the previous run died holding.
	Owner string
	// Lease is how long a claimed enrolment is this worker's; past it, a
	// crashed worker's enrolments are due again. Default 1 minute.
	Lease time.Duration
	// MaxLateness: a timer that fires late (the server was down) runs its
	// step late; the waits after it count from the instant it was due,
	// unless it is later than this, when they count from now. Default 1h.
	MaxLateness time.Duration
	// Yield makes the consumer wait while ingestion is saturated.
	Yield func() bool
	// CodeSecret keys the promo codes' HMAC; it must stay the same across
	// restarts (the server passes the message pipeline's secret). Empty:
	// a fixed key, so codes are unique but guessable.
	CodeSecret []byte
}

// Engine enrols customers in journeys and moves their enrolments through
// the steps. Process (the event log, behind the segment stage) and Tick
// (due timers) hold mu while they run, so that an enrolment is never
// moved by both at once in one process; across processes the store's
// lease keeps timers apart.
type Engine struct {
	st  Store
	o   Options
	log *slog.Logger

	mu       sync.Mutex
	loaded   bool                // Load succeeded: latest is the stored one
	latest   map[string]*program // live and paused journeys, latest version
	status   map[string]string
	versions map[string]*program // "id@version", read on demand
	wake     chan struct{}
	noSender sync.Once
}

// New returns the engine over st; call Load before anything else.
func New(st Store, o Options) *Engine {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Rules == nil {
		o.Rules = identity.DefaultRules()
	}
	if o.Owner == "" {
		o.Owner = defaultOwner
	}
	if o.Lease <= 0 {
		o.Lease = time.Minute
	}
	if o.MaxLateness <= 0 {
		o.MaxLateness = time.Hour
	}
	return &Engine{st: st, o: o, log: o.Logger, latest: map[string]*program{}, status: map[string]string{},
		versions: map[string]*program{}, wake: make(chan struct{}, 1)}
}

func decode(r *store.JourneyRecord) (*Definition, error) {
	var d Definition
	if err := json.Unmarshal(r.Definition, &d); err != nil {
		return nil, fmt.Errorf("journey: stored definition of %s v%d: %w", r.ID, r.Version, err)
	}
	return &d, nil
}

// Load reads the journeys' latest versions.
func (e *Engine) Load(ctx context.Context) error {
	recs, err := e.st.ListJourneys(ctx)
	if err != nil {
		return err
	}
	latest, status := map[string]*program{}, map[string]string{}
	for _, r := range recs {
		status[r.ID] = r.Status
		if r.Status == StatusArchived {
			continue
		}
		d, err := decode(r)
		if err != nil {
			return err
		}
		latest[r.ID] = compile(d, r.Version)
	}
	e.mu.Lock()
	e.latest, e.status, e.loaded = latest, status, true
	e.mu.Unlock()
	return nil
}

// program returns a journey's version, compiled. Lock should be held.
func (e *Engine) program(ctx context.Context, id string, version int) (*program, error) {
	if p := e.latest[id]; p != nil && p.version == version {
		return p, nil
	}
	key := fmt.Sprintf("%s@%d", id, version)
	if p := e.versions[key]; p != nil {
		return p, nil
	}
	r, err := e.st.JourneyVersion(ctx, id, version)
	if err != nil {
		return nil, err
	}
	d, err := decode(r)
	if err != nil {
		return nil, err
	}
	p := compile(d, version)
	e.versions[key] = p
	return p, nil
}

// Validate checks definitions against the segments that exist, and
// those named in also (applied with them), without saving them.
func (e *Engine) Validate(ctx context.Context, defs []*Definition, also ...string) error {
	known, err := knownSegments(ctx, e.st, e.o.Stores)
	if err != nil {
		return err
	}
	for _, id := range also {
		known.Segments[id] = &segment.Definition{ID: id}
	}
	for _, d := range defs {
		if err := Validate(d, known); err != nil {
			return err
		}
		if err := e.checkSends(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// Save validates and stores definitions; a changed one gets a new
// version (live, or staying paused), which new enrolments take; customers
// inside finish on the version they entered. It returns the records.
func (e *Engine) Save(ctx context.Context, defs []*Definition) ([]*store.JourneyRecord, error) {
	if err := e.Validate(ctx, defs); err != nil {
		return nil, err
	}
	recs, err := e.st.ListJourneys(ctx)
	if err != nil {
		return nil, err
	}
	old := map[string]*store.JourneyRecord{}
	for _, r := range recs {
		old[r.ID] = r
	}
	var out []*store.JourneyRecord
	for _, d := range defs {
		d.Kind = ""
		body, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		status := StatusLive
		if o := old[d.ID]; o != nil {
			if o.Status == StatusPaused {
				status = StatusPaused
			}
			if o.Status != StatusArchived && bytes.Equal(o.Definition, body) {
				out = append(out, o) // unchanged: no new version
				continue
			}
		}
		r := &store.JourneyRecord{ID: d.ID, Definition: body, Status: status, UpdatedAt: e.o.Clock.Now()}
		if err := e.st.SaveJourney(ctx, r); err != nil {
			return nil, err
		}
		e.log.Info("journey saved", "journey", d.ID, "version", r.Version, "status", status)
		out = append(out, r)
	}
	return out, e.Load(ctx)
}

// SetStatus pauses (no new entries, timers wait), resumes or archives
// (active enrolments end) a journey.
func (e *Engine) SetStatus(ctx context.Context, id, status string) error {
	switch status {
	case StatusLive, StatusPaused, StatusArchived:
	default:
		return invalid(id, "status", fmt.Sprintf("%q: expected live, paused or archived", status))
	}
	if err := e.st.SetJourneyStatus(ctx, id, status, e.o.Clock.Now()); err != nil {
		return err
	}
	if status == StatusArchived {
		// Its date timers stop where they are; if it is ever live again,
		// they are all set anew rather than fired for the dates that
		// passed meanwhile (see backfillDates).
		if err := e.st.SaveCheckpoint(ctx, dateCheckpoint(id), archivedDates); err != nil {
			return err
		}
	}
	e.log.Info("journey status", "journey", id, "status", status)
	return e.Load(ctx)
}

// Definition returns a journey's record and definition (version 0: the
// latest).
func (e *Engine) Definition(ctx context.Context, id string, version int) (*store.JourneyRecord, *Definition, error) {
	r, err := e.st.JourneyVersion(ctx, id, version)
	if err != nil {
		return nil, nil, err
	}
	d, err := decode(r)
	return r, d, err
}
