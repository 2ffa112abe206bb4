// Package unify is the stage that turns the event log into customer
// profiles: it follows the log in order, resolves each event's identifiers
// to a profile (merging profiles as the identity rules allow), folds the
// event into the profile's traits and computed traits, and puts it on the
// profile's timeline. Everything it writes is derived: replaying the log
// from the start rebuilds the same profiles.
package unify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// Consumer is the unify stage's name in the checkpoints table.
const Consumer = "unify"

// SourceID is the source of the events Parcours appends itself.
const SourceID = "src_parcours"

// Store is what the unify stage reads and writes.
type Store interface {
	store.Profiles
	ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error)
	LastSeq(ctx context.Context) (int64, error)
	Checkpoint(ctx context.Context, consumer string) (int64, error)
	SaveCheckpoint(ctx context.Context, consumer string, seq int64) error
}

// Sink receives the internal events the stage emits (Profile Merged,
// Traits Changed); collect.Committer is the real one.
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Options configure a Processor.
type Options struct {
	Rules  *identity.Rules
	Clock  clock.Clock
	Logger *slog.Logger
	// Emit receives internal events; nil emits none (replay).
	Emit    Sink
	Metrics *Metrics
	// Yield, if set, makes the live stage wait while it says true (see
	// eventlog.Consumer.Yield): ingestion bursts come first.
	Yield func() bool
	// Processed, if set, is told the last seq of each batch the live
	// stage has committed: the stages behind unify wait on it.
	Processed *eventlog.Notifier
	// Suppressed, if set, keeps the identifiers of erased people from
	// being linked again (privacy.Suppressor).
	Suppressed Suppressor
}

// Suppressor recognises the events of erased people (privacy.Suppressor).
type Suppressor interface {
	// Filter reports which events carry an identifier of an erased
	// person (among ids[i], the identifiers of events[i] no profile
	// holds) without bringing new consent; an event that brings it lifts
	// the suppression instead.
	Filter(ctx context.Context, events []*event.Event, ids [][]identity.Identifier) ([]bool, error)
	// Scrub rewrites those events in the log as erased stubs.
	Scrub(ctx context.Context, seqs []int64) error
}

// Processor applies batches of events to the profiles. It keeps caches of
// identifier holders and profiles across batches; it assumes it is the only
// writer of the unify state (one unify stage per store).
type Processor struct {
	st  Store
	o   Options
	log *slog.Logger

	holders  map[identity.Identifier]int64 // 0: known to have no holder
	profiles map[int64]*profile.Profile
	// live are profiles known to exist, unmerged, that only Parcours' own
	// events (Message Sent, Delivered...) needed: such an event puts a
	// row on the timeline and changes no trait, so the profile is
	// checked, not kept (a broadcast's recipients filled the cache of
	// profiles: 94 MiB at 50,000).
	live       map[int64]struct{}
	exclusions map[int64][]identity.Identifier
	loadedEx   bool
}

// Cache bounds: past them a cache is dropped and refilled from the store.
const (
	maxCachedHolders  = 500_000
	maxCachedProfiles = 50_000
	maxLive           = 500_000
)

// NewProcessor returns a processor over st.
func NewProcessor(st Store, o Options) *Processor {
	if o.Rules == nil {
		o.Rules = identity.DefaultRules()
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	p := &Processor{st: st, o: o, log: o.Logger}
	p.Reset()
	return p
}

// Reset drops the caches: the store was changed behind the processor
// (replay, unmerge).
func (p *Processor) Reset() {
	p.holders = map[identity.Identifier]int64{}
	p.profiles = map[int64]*profile.Profile{}
	p.live = map[int64]struct{}{}
	p.exclusions = nil
	p.loadedEx = false
}

// work is the state of one batch.
type work struct {
	p        *Processor
	batch    store.UnifyBatch
	dirty    map[int64]bool               // profiles to write
	mergedTo map[int64]int64              // merged in this batch -> winner
	linked   map[identity.Identifier]bool // identifiers whose holder changed
	emit     []*event.Event
}

// Process applies one batch of events (in log order) and records the
// checkpoint with it.
func (p *Processor) Process(ctx context.Context, events []*event.Event) error {
	_, err := p.process(ctx, events)
	return err
}

// process applies a batch and returns what it wrote.
func (p *Processor) process(ctx context.Context, events []*event.Event) (*store.UnifyBatch, error) {
	if len(events) == 0 {
		return &store.UnifyBatch{}, nil
	}
	if err := p.loadExclusions(ctx); err != nil {
		return nil, err
	}
	ids := make([][]identity.Identifier, len(events))
	var all []identity.Identifier
	for i, e := range events {
		if e.Channel == profile.InternalChannel {
			continue
		}
		ids[i] = p.identifiers(e)
		all = append(all, ids[i]...)
	}
	if err := p.prefetch(ctx, all); err != nil {
		return nil, err
	}
	events, err := p.suppress(ctx, events, ids)
	if err != nil {
		return nil, err
	}
	if err := p.checkInternal(ctx, events); err != nil {
		return nil, err
	}
	w := &work{p: p, dirty: map[int64]bool{}, mergedTo: map[int64]int64{}, linked: map[identity.Identifier]bool{}}
	for i, e := range events {
		var err error
		if e.Channel == profile.InternalChannel {
			err = w.internal(ctx, e)
		} else {
			err = w.apply(ctx, e, ids[i])
		}
		if err != nil {
			return nil, fmt.Errorf("unify: event %d: %w", e.Seq, err)
		}
	}
	w.finish(events[len(events)-1].Seq)
	// Internal events go first: if the batch is not committed, it is
	// processed again and emits the same ones, which dedup drops.
	if p.o.Emit != nil && len(w.emit) > 0 {
		if err := p.o.Emit.Submit(ctx, w.emit, nil); err != nil {
			return nil, fmt.Errorf("unify: emit internal events: %w", err)
		}
	}
	if err := p.st.ApplyUnify(ctx, &w.batch); err != nil {
		// The caches may hold what was not written.
		p.Reset()
		return nil, err
	}
	p.o.Metrics.batch(&w.batch, events, p.o.Clock.Now())
	p.trimCaches()
	return &w.batch, nil
}

// identifiers returns the usable identifiers of e.
func (p *Processor) identifiers(e *event.Event) []identity.Identifier {
	var out []identity.Identifier
	excluded := p.exclusions[e.Seq]
	for _, raw := range identity.Extract(e) {
		id, why := p.o.Rules.Normalize(raw)
		if why != "" {
			p.o.Metrics.junk(raw.Kind)
			continue
		}
		if !containsID(excluded, id) {
			out = append(out, id)
		}
	}
	return out
}

func containsID(list []identity.Identifier, id identity.Identifier) bool {
	for _, x := range list {
		if x == id {
			return true
		}
	}
	return false
}

// prefetch loads the holders of ids and their profiles into the caches.
func (p *Processor) prefetch(ctx context.Context, ids []identity.Identifier) error {
	var missing []identity.Identifier
	for _, id := range ids {
		if _, ok := p.holders[id]; !ok {
			missing = append(missing, id)
			p.holders[id] = 0
		}
	}
	found, err := p.st.Holders(ctx, missing)
	if err != nil {
		return fmt.Errorf("unify: %w", err)
	}
	var need []int64
	for id, h := range found {
		p.holders[id] = h
		if _, ok := p.profiles[h]; !ok {
			need = append(need, h)
		}
	}
	loaded, err := p.st.LoadProfiles(ctx, need)
	if err != nil {
		return fmt.Errorf("unify: %w", err)
	}
	for id, pr := range loaded {
		p.profiles[id] = pr
	}
	return nil
}

// suppress finds the events of erased people (see Options.Suppressed),
// looking only at identifiers no profile holds, and replaces them in the
// batch by their erased stubs, after rewriting them so in the log: such
// an event is applied to nobody, and does not stay in the log either. It
// returns the batch to apply (a copy when it changed: the caller's events
// are shared with the log's tail).
func (p *Processor) suppress(ctx context.Context, events []*event.Event, ids [][]identity.Identifier) ([]*event.Event, error) {
	if p.o.Suppressed == nil {
		return events, nil
	}
	unheld := make([][]identity.Identifier, len(ids))
	found := false
	for i, list := range ids {
		for _, id := range list {
			if p.holders[id] == 0 {
				unheld[i] = append(unheld[i], id)
				found = true
			}
		}
	}
	if !found {
		return events, nil
	}
	erased, err := p.o.Suppressed.Filter(ctx, events, unheld)
	if err != nil {
		return nil, fmt.Errorf("unify: erased identifiers: %w", err)
	}
	var seqs []int64
	for i, yes := range erased {
		if !yes {
			continue
		}
		if seqs == nil {
			events = slices.Clone(events)
		}
		seqs = append(seqs, events[i].Seq)
		events[i] = store.ErasedEvent(events[i])
		ids[i] = nil
	}
	if len(seqs) > 0 {
		if err := p.o.Suppressed.Scrub(ctx, seqs); err != nil {
			return nil, fmt.Errorf("unify: erase late events of erased people: %w", err)
		}
	}
	return events, nil
}

// profile returns a live profile from the cache or the store.
func (p *Processor) profile(ctx context.Context, id int64) (*profile.Profile, error) {
	if pr, ok := p.profiles[id]; ok {
		return pr, nil
	}
	loaded, err := p.st.LoadProfiles(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	pr, ok := loaded[id]
	if !ok {
		return nil, problem.NotFound("profile", id)
	}
	p.profiles[id] = pr
	return pr, nil
}

func (p *Processor) loadExclusions(ctx context.Context) error {
	if p.loadedEx {
		return nil
	}
	list, err := p.st.Exclusions(ctx)
	if err != nil {
		return fmt.Errorf("unify: %w", err)
	}
	p.exclusions = map[int64][]identity.Identifier{}
	for _, x := range list {
		p.exclusions[x.EventSeq] = append(p.exclusions[x.EventSeq], x.Identifier)
	}
	p.loadedEx = true
	return nil
}

func (p *Processor) trimCaches() {
	if len(p.holders) > maxCachedHolders {
		p.holders = map[identity.Identifier]int64{}
	}
	if len(p.profiles) > maxCachedProfiles {
		p.profiles = map[int64]*profile.Profile{}
	}
	if len(p.live) > maxLive {
		p.live = map[int64]struct{}{}
	}
}

// checkInternal finds, in one read, which profiles the batch's own events
// (Message Sent...) name that neither cache knows, and notes the live ones.
func (p *Processor) checkInternal(ctx context.Context, events []*event.Event) error {
	var need []int64
	seen := map[int64]bool{}
	for _, e := range events {
		if e.Channel != profile.InternalChannel {
			continue
		}
		var props internalProps
		if json.Unmarshal(e.Properties, &props) != nil || props.ProfileID == 0 || seen[props.ProfileID] {
			continue
		}
		seen[props.ProfileID] = true
		if _, ok := p.profiles[props.ProfileID]; ok {
			continue
		}
		if _, ok := p.live[props.ProfileID]; ok {
			continue
		}
		need = append(need, props.ProfileID)
	}
	if len(need) == 0 {
		return nil
	}
	loaded, err := p.st.LoadProfiles(ctx, need)
	if err != nil {
		return fmt.Errorf("unify: %w", err)
	}
	for id := range loaded {
		p.live[id] = struct{}{}
	}
	return nil
}

// internalProps is what the stage reads of its own events.
type internalProps struct {
	ProfileID int64 `json:"profileId"`
}

// internal puts one of Parcours' own events on its profile's timeline.
func (w *work) internal(ctx context.Context, e *event.Event) error {
	var props internalProps
	if json.Unmarshal(e.Properties, &props) != nil || props.ProfileID == 0 {
		return nil
	}
	id := w.final(props.ProfileID)
	if _, ok := w.p.live[id]; ok {
		w.batch.Timeline = append(w.batch.Timeline, store.TimelineEntry{Profile: id, Seq: e.Seq, At: e.Timestamp})
		return nil
	}
	if _, err := w.p.profile(ctx, id); err != nil {
		// Merged earlier: the store knows where it went.
		pr, err := w.p.st.Profile(ctx, id)
		if err != nil {
			return nil // the profile is gone (unmerged, erased): nothing to attach to
		}
		id = pr.ID
	}
	w.batch.Timeline = append(w.batch.Timeline, store.TimelineEntry{Profile: id, Seq: e.Seq, At: e.Timestamp})
	return nil
}
