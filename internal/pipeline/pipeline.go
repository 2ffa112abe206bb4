// Package pipeline assembles the stages that follow the event log — unify,
// segments and their behaviour index, the message pipeline and its consent
// consumer, commerce, journeys, measure — with one function, New, from one
// Config. parcours serve, the offline commands that rebuild derived state
// (replay, profiles unmerge, templates preview) and the journey simulator
// all build their stages here, so they cannot drift apart: the same
// identity rules, physical stores, time zone, behaviour index and message
// settings reach every stage that reads them.
//
// What may differ between them is how the stages run, never what they
// compute: a Runtime says which clock, where announced events go (serve's
// group committer, the simulator's store, nowhere for an offline rebuild),
// who delivers a journey's send and whether metrics are exported. Running
// the stages (serve's goroutines, the simulator's settle loop) stays with
// the caller.
package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/loyalty"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/privacy"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/recommend"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/survey"
	"github.com/parcours/parcours/internal/unify"
)

// Config is what the stages compute with: one per data directory, read by
// every command that assembles them. Zero values take the defaults.
type Config struct {
	// Rules are the identity resolution rules; nil: the defaults.
	Rules *identity.Rules
	// Stores are the physical stores: the nearest_store computed trait,
	// near conditions of segments and journeys, the {{ store }} of
	// templates.
	Stores []place.Location
	// Zone is the brand's time zone, in which measurement counts days;
	// nil: UTC.
	Zone *time.Location
	// BehaviourIndex is the file of the segments' behaviour index (which
	// previews and funnels read); "": kept in memory and built from the
	// log at each start.
	BehaviourIndex string
	// RecommendModel is the file the recommendation model is saved to
	// and loaded from at start (only the log after it is learned); "":
	// learned from the whole log at each start.
	RecommendModel string
	// LowStock is the availability at or under which commerce emits Low
	// Stock; default 3.
	LowStock int64
	// Messages configure the message pipeline: policy, link secret (which
	// signs the journeys' promo codes too), public URL, workers. Its
	// Clock, Logger, Rules, Stores, RFM, Commerce, Registerer, Yield and
	// OnConsentBatch are set by New from the rest.
	Messages message.Options
	// Retention is how long each kind of personal data is kept
	// (privacy.DefaultPolicy for serve; the zero Policy keeps everything).
	Retention privacy.Policy
	// Partitions, above 0, splits the segment and journey stages into
	// that many partitions run by the cluster's live nodes (RunPartition,
	// docs/scale.md): the stages behind them (privacy) read behind every
	// partition. 0: one segment and one journey stage (single node).
	Partitions int
}

// Sink receives the events the stages announce (Profile Merged, Segment
// Entered, Consent Changed, Message Sent, commerce's events);
// collect.Committer is serve's, collect.Direct the simulator's.
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Runtime is how one process runs the stages: it changes when and where
// their results go, not what they are. Zero values take the defaults.
type Runtime struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// Emit receives the events the stages announce; nil: nothing is
	// announced (an offline rebuild: the first run did).
	Emit Sink
	// Yield makes the stages wait while it says true: ingestion bursts
	// come first.
	Yield func() bool
	// Registry receives the stages' metrics; nil: they are kept in a
	// registry of their own, exported nowhere.
	Registry prometheus.Registerer
	// Providers serve the message channels; nil: every send fails with
	// "no provider configured for channel X".
	Providers message.Providers
	// Sender delivers the journeys' send steps; nil: the message pipeline
	// (Pipeline.Messages) does.
	Sender journey.Sender
	// Webhooks call the journeys' webhook steps; nil: they are traced as
	// not called and the journeys go on.
	Webhooks journey.Caller
	// Trace, if set, receives every journey step taken.
	Trace func(journey.TraceEntry)
	// SendConcurrency is how many enrolments of a batch may wait on their
	// sender at once; default 1.
	SendConcurrency int
	// MaxLateness is how late a journey timer may fire and still count
	// from its due instant; default the engine's.
	MaxLateness time.Duration
}

// Pipeline is the assembled stages over one store.
type Pipeline struct {
	// Unify follows the log into profiles; Segments follows it behind
	// unify into memberships.
	Unify    *unify.Stage
	Segments *segment.Stage
	// Index is the segments' behaviour index; nil when its file could not
	// be opened (IndexErr says why): previews then read the timelines.
	Index *segment.Index
	// Commerce holds catalog, stock, orders and carts, and its consumer
	// of the log; Messages the message pipeline and its consent
	// consumer; Journeys the journey engine; Measure the measure stage and
	// the reports.
	Commerce *commerce.Service
	Messages *message.Pipeline
	// Surveys sends surveys and takes their answers (links, text replies:
	// the first of the message pipeline's inbound handlers).
	Surveys  *survey.Service
	Journeys *journey.Engine
	Measure  *measure.Service
	Loyalty  *loyalty.Service // the points ledger: orders earn from the log (Run), tills by the API
	// Privacy answers access and erasure requests; Retention applies
	// Config.Retention (the caller runs its Loop).
	Privacy   *privacy.Service
	Retention *privacy.Retention
	// Recommend answers recommendation queries (the API, templates,
	// clienteling) over the model RecommendStage learns from the log
	// (the caller runs it: Stage.Run).
	Recommend      *recommend.Recommender
	RecommendStage *recommend.Stage
	// Unified is published by unify after each batch: the stages behind
	// it (segments, consent, commerce, measure) follow it.
	Unified *eventlog.Notifier
	// BehindJourneys wakes the journey engine once both the segment stage
	// and the consent consumer have passed an event.
	BehindJourneys *eventlog.Gate
	// TimerEvery is how often RunPartition fires its partition's segment
	// timers (default 1 s; negative: never).
	TimerEvery time.Duration

	st       store.Store
	cfg      Config
	indexErr error
}

// The stages the journey engine reads behind: the segment stage (or every
// partition of it) and the consent consumer, so that an opt-in and the
// event that triggers a send in the same batch are seen in that order.

// New assembles every stage over st, which must be migrated, from cfg; rt
// says how this process runs them. Nothing starts: the caller runs the
// stages (or drives them batch by batch) and closes the pipeline.
func New(st store.Store, cfg Config, rt Runtime) *Pipeline {
	if rt.Clock == nil {
		rt.Clock = clock.System{}
	}
	if rt.Logger == nil {
		rt.Logger = slog.Default()
	}
	if rt.Registry == nil {
		rt.Registry = prometheus.NewRegistry()
	}
	if cfg.Rules == nil {
		cfg.Rules = identity.DefaultRules()
	}
	if cfg.Zone == nil {
		cfg.Zone = time.UTC
	}
	p := &Pipeline{st: st, cfg: cfg, Unified: eventlog.NewNotifier()}
	p.BehindJourneys = eventlog.NewGate(eventlog.NewNotifier(), 2)
	var emit Sink = rt.Emit

	p.Unify = unify.NewStage(st, unify.Options{
		Rules: cfg.Rules, Clock: rt.Clock, Logger: rt.Logger, Emit: emit, Metrics: unify.NewMetrics(rt.Registry),
		Yield: rt.Yield, Processed: p.Unified, Suppressed: &privacy.Suppressor{Store: st, Clock: rt.Clock},
	})
	// A file that cannot be opened leaves the stages without an index
	// (previews read the timelines); the caller decides whether that is
	// an error (IndexErr).
	p.Index, p.indexErr = openIndex(cfg.BehaviourIndex)
	p.Segments = segment.NewStage(st, segment.Options{
		Index: p.Index, Clock: rt.Clock, Logger: rt.Logger, Rules: cfg.Rules, Stores: cfg.Stores, RFM: p.Unify.RFM,
		Emit: emit, Yield: rt.Yield, Metrics: segment.NewMetrics(rt.Registry),
		OnBatch: func(seq int64) { p.BehindJourneys.Report(0, seq) },
		Suppressed: func(ctx context.Context, channel, address string) (bool, error) {
			return suppressed(ctx, st, channel, address)
		},
		Consent: func(ctx context.Context, ids []int64) (map[int64]map[string]bool, error) {
			return channelConsent(ctx, st, ids)
		},
	})
	p.Commerce = commerce.New(st, commerce.Options{Clock: rt.Clock, Sink: emit, Logger: rt.Logger, LowStock: cfg.LowStock,
		Yield: rt.Yield, Metrics: commerce.NewMetrics(rt.Registry), Profiles: unify.ProfileFinder{Store: st, Rules: cfg.Rules}})

	model := recommend.NewModel(recommend.Options{Regions: Regions(cfg.Stores)})
	p.Recommend = &recommend.Recommender{Model: model, Profiles: st, Commerce: p.Commerce.Store(), Stores: cfg.Stores, Clock: rt.Clock,
		Links: recommend.Links{Base: cfg.Messages.BaseURL, Secret: cfg.Messages.Secret}}
	p.RecommendStage = &recommend.Stage{Model: model, Log: st, Logger: rt.Logger, Yield: rt.Yield, Processed: eventlog.NewNotifier(),
		File: cfg.RecommendModel}

	mo := cfg.Messages
	mo.Clock, mo.Logger, mo.Rules, mo.Registerer, mo.Yield = rt.Clock, rt.Logger, cfg.Rules, rt.Registry, rt.Yield
	mo.Stores, mo.RFM, mo.Commerce = cfg.Stores, p.Unify.RFM, templateCommerce{p.Commerce}
	mo.Recommendations = p.Recommend
	mo.OnConsentBatch = func(seq int64) { p.BehindJourneys.Report(1, seq) }
	p.Messages = message.New(st, emit, rt.Providers, mo)
	var surveyEmit survey.Sink
	if emit != nil {
		surveyEmit = emit
	}
	p.Surveys = survey.New(st, p.Messages, survey.Options{Clock: rt.Clock, Logger: rt.Logger, Emit: surveyEmit})
	// The ledger's events go through commerce's outbox and relay.
	p.Loyalty = loyalty.New(st, loyalty.Options{Clock: rt.Clock, Logger: rt.Logger, Kick: p.Commerce.Kick, Profiles: st})
	// Surveys first: a "9" from a number with a survey pending is its
	// answer; every other text goes on to the handlers added later
	// (conversations).
	p.Messages.OnInbound(p.Surveys)

	sender := rt.Sender
	if sender == nil {
		sender = MessageSender{Messages: p.Messages, Surveys: p.Surveys}
	}
	p.Journeys = journey.New(st, journey.Options{
		Consent: func(ctx context.Context, ids []int64) (map[int64]map[string]bool, error) {
			return channelConsent(ctx, st, ids)
		}, Clock: rt.Clock, Logger: rt.Logger, Rules: cfg.Rules, Stores: cfg.Stores,
		Sender: sender, Webhooks: rt.Webhooks, Emit: emit, Yield: rt.Yield, After: behindSegments(cfg.Partitions, message.Consumer),
		SendConcurrency: rt.SendConcurrency, MaxLateness: rt.MaxLateness, Trace: rt.Trace, CodeSecret: mo.Secret,
		Stock: journey.CommerceStock{Service: p.Commerce}, Tasks: st, Owner: mo.Node})

	stage := measure.NewStage(st, measure.Options{Clock: rt.Clock, Logger: rt.Logger, Rules: cfg.Rules, Zone: cfg.Zone,
		Yield: rt.Yield, Metrics: measure.NewMetrics(rt.Registry)})
	engine := measure.NewRollups(st, cfg.Zone, rt.Clock)
	if p.Index != nil {
		engine.Index = p.Index // funnels read the segments' behaviour index
	}
	p.Measure = measure.NewService(st, engine, stage, cfg.Zone, rt.Clock)

	p.Privacy = &privacy.Service{Store: st, Clock: rt.Clock, Rules: cfg.Rules, Unify: p.Unify, Emit: emit,
		Behind: behindSegments(cfg.Partitions, append([]string{message.Consumer, commerce.Consumer, measure.Consumer}, journeyCheckpoints(cfg.Partitions)...)...)}
	if p.Index != nil {
		p.Privacy.Index = p.Index
	}
	p.Retention = &privacy.Retention{Store: st, Service: p.Privacy, Policy: cfg.Retention, Clock: rt.Clock,
		Log: rt.Logger, Metrics: privacy.NewRetentionMetrics(rt.Registry)}
	return p
}

// Regions maps each physical store to its region, for "popular in the
// region": its country and the first two digits of its postal code (a
// French département), else its city.
func Regions(stores []place.Location) map[string]string {
	out := make(map[string]string, len(stores))
	for _, l := range stores {
		switch a := l.Address; {
		case len(a.PostalCode) >= 2:
			out[l.ID] = a.Country + "-" + a.PostalCode[:2]
		case a.City != "":
			out[l.ID] = a.Country + "-" + a.City
		}
	}
	return out
}

// openIndex opens the behaviour index kept in file, or a new one in
// memory for "".
func openIndex(file string) (*segment.Index, error) {
	if file == "" {
		return segment.NewIndex(), nil
	}
	return segment.OpenIndex(file)
}

// Config returns the configuration the stages were assembled from, with
// its defaults filled in.
func (p *Pipeline) Config() Config { return p.cfg }

// IndexErr says why the behaviour index file could not be opened; nil if
// it was (or none was asked for).
func (p *Pipeline) IndexErr() error { return p.indexErr }

// RFM returns the last RFM scoring, nil before the first.
func (p *Pipeline) RFM() *profile.RFM { return p.Unify.RFM() }

// Close writes the behaviour index and closes its file. The caller stops
// the stages it runs first.
func (p *Pipeline) Close() error {
	if err := p.Index.Close(); err != nil {
		return errors.Join(errors.New("segments: close the behaviour index"), err)
	}
	return nil
}

// suppressed says whether an address is on the suppression list.
func suppressed(ctx context.Context, st store.Store, channel, address string) (bool, error) {
	_, err := st.Suppression(ctx, channel, address)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// channelConsent reads the profiles' channel-level consent (not per topic)
// from the consent ledger: profile -> channel -> granted.
func channelConsent(ctx context.Context, st store.Store, ids []int64) (map[int64]map[string]bool, error) {
	recs, err := st.ConsentState(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := map[int64]map[string]bool{}
	for _, r := range recs {
		if r.Topic != "" {
			continue
		}
		if out[r.ProfileID] == nil {
			out[r.ProfileID] = map[string]bool{}
		}
		out[r.ProfileID][r.Channel] = r.Granted
	}
	// A STOP not lifted since: nothing is sent, so not reachable, whatever
	// an identify trait granted after it.
	for _, r := range recs {
		if r.Topic == message.StopTopic && !r.Granted && out[r.ProfileID] != nil {
			out[r.ProfileID][r.Channel] = false
		}
	}
	return out, nil
}

// templateCommerce gives message templates the commerce orders and
// locations ({{ order.status }}, {{ store.address.city }}).
type templateCommerce struct{ svc *commerce.Service }

func (c templateCommerce) Order(ctx context.Context, id string) (*commerce.Order, error) {
	return c.svc.Order(ctx, id)
}

func (c templateCommerce) Location(ctx context.Context, id string) (*commerce.Location, error) {
	return c.svc.Store().Location(ctx, id)
}
