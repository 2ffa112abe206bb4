package segment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// Consumer is the segment stage's checkpoint name.
const Consumer = "segment"

// UnifyConsumer is the unify stage's checkpoint: the segment stage never
// reads past it, since it needs the profiles of the events it reads.
const UnifyConsumer = "unify"

// The events the stage emits.
const (
	EventEntered = "Segment Entered"
	EventExited  = "Segment Exited"
)

// internalSource and internalChannel mark Parcours' own events.
const internalSource = "src_parcours"

// Store is what the segment stage reads and writes.
type Store interface {
	store.Segments
	Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error)
	LoadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, error)
	ListProfiles(ctx context.Context, after int64, limit int) ([]*profile.Profile, error)
	ProfileCount(ctx context.Context) (int64, error)
	Timeline(ctx context.Context, q store.TimelineQuery) ([]*event.Event, error)
	ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error)
	Checkpoint(ctx context.Context, consumer string) (int64, error)
	SaveCheckpoint(ctx context.Context, consumer string, seq int64) error
}

// Sink receives the events the stage emits; collect.Committer is the real
// one.
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Options configure a Stage.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	Rules  *identity.Rules
	Stores []place.Location
	// RFM returns the last RFM scoring, for the rfm computed trait.
	RFM func() *profile.RFM
	// Consent returns the profiles' current channel-level consent from the
	// consent ledger (profile -> channel -> granted); nil: consent is read
	// from the opt-in traits alone.
	Consent func(ctx context.Context, profiles []int64) (map[int64]map[string]bool, error)
	// Emit receives Segment Entered/Exited; nil emits none.
	Emit Sink
	// Yield makes the stage wait while ingestion is saturated.
	Yield func() bool
	// Suppressed, if set, says whether an address is on the suppression
	// list (hard bounces, complaints): such an address does not make a
	// customer reachable.
	Suppressed func(ctx context.Context, channel, address string) (bool, error)
	// OnBatch, if set, is told the last seq of each batch handled.
	OnBatch func(seq int64)
	// Index, if set, is the behaviour index the stage keeps (RunIndex
	// catches it up with the log and writes it) and previews read.
	Index   *Index
	Metrics *Metrics
}

// Stage keeps segment memberships up to date: it follows the event log
// behind unify, and fires the timers of time-based conditions.
type Stage struct {
	st  Store
	o   Options
	log *slog.Logger

	mu     sync.Mutex // held while a batch, a tick or a backfill runs
	loaded bool       // Load succeeded: the set is the stored one
	set    *Set

	bfMu            sync.Mutex // held by the running backfill
	bfDone, bfTotal atomic.Int64
	sizes           map[string]int64
	// Processed is published after each batch (tests and benchmarks wait
	// on it).
	Processed *eventlog.Notifier
}

// NewStage returns the stage over st; call Load before anything else.
func NewStage(st Store, o Options) *Stage {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Rules == nil {
		o.Rules = identity.DefaultRules()
	}
	if o.RFM == nil {
		o.RFM = func() *profile.RFM { return nil }
	}
	empty, _ := NewSet(nil)
	return &Stage{st: st, o: o, log: o.Logger, set: empty, sizes: map[string]int64{}, Processed: eventlog.NewNotifier()}
}

// Load reads the live definitions and the segments' sizes.
func (s *Stage) Load(ctx context.Context) error {
	recs, err := s.st.ListSegments(ctx)
	if err != nil {
		return err
	}
	var defs []*Definition
	for _, r := range recs {
		if r.Status == StatusArchived {
			continue
		}
		d, err := decodeRecord(r)
		if err != nil {
			return err
		}
		defs = append(defs, d)
	}
	set, err := NewSet(defs)
	if err != nil {
		return err
	}
	sizes, err := s.st.SegmentSizes(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.set, s.sizes, s.loaded = set, sizes, true
	s.mu.Unlock()
	return nil
}

// Set returns the live segments.
func (s *Stage) Set() *Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set
}

// Run follows the log behind unify until ctx ends. unifyDone, if set, is
// published by unify after each of its batches.
func (s *Stage) Run(ctx context.Context, unifyDone *eventlog.Notifier) error {
	c := &eventlog.Consumer{
		Name: Consumer, Log: eventlog.Behind{Log: s.st, Behind: []string{UnifyConsumer}, Passed: unifyDone}, Checkpoints: s.st, Notifier: unifyDone,
		BatchSize: 1000, Poll: time.Second, HandlerCheckpoints: true, Yield: s.o.Yield,
	}
	return c.Run(ctx, func(ctx context.Context, batch []*event.Event) error {
		return s.Process(ctx, batch)
	})
}

// internalProps are the properties of unify's events the stage reads.
type internalProps struct {
	ProfileID       int64 `json:"profileId"`
	MergedProfileID int64 `json:"mergedProfileId"`
}

// work is one batch in progress.
type work struct {
	s        *Stage
	now      time.Time
	states   map[int64]*State
	profiles map[int64]*profile.Profile
	// why accumulates, per profile, what changed: which segments to
	// evaluate, and the reason to record.
	why     map[int64]*touch
	consent map[int64]map[string]bool
	batch   store.SegmentBatch
	emit    []*event.Event
	deleted map[int64]bool
	// entered holds, for each entry a live event caused, when that event
	// was received (parcours_segment_entry_seconds).
	entered []time.Time
	// routed: a partition's batch (ProcessRouted).
	routed bool
}

type touch struct {
	anyEvent, traits, timed, all bool
	events                       map[string]bool
	reason                       string
	// cause makes the message ids of the announcements unique across
	// replays: the event's seq, "t" for a timer, "b" and the time for a
	// backfill.
	cause string
	at    time.Time
	// received is when the live event that touched the profile last was
	// received: an entry it causes is measured from it.
	received time.Time
	// live is what the causes that are news (events that are not
	// history, timers) can change, nil when there is none: a change to a
	// segment no live cause affects is caused by history (an import, an
	// old event, a backfill), and announced as such.
	live *touch
}

// news returns what the live causes of t can change.
func (t *touch) news() *touch {
	if t.live == nil {
		t.live = &touch{}
	}
	return t.live
}

// note records what event e can change; isNew says its profile is new to
// the stage.
func (t *touch) note(e *event.Event, isNew bool) {
	// A profile new to the stage is evaluated for every segment: it can
	// be in one by what it has not done ("no order in 30 days").
	t.all = t.all || isNew
	if e.Channel == profile.InternalChannel {
		// Consent changes and message outcomes (a hard bounce suppresses
		// an address) change reachability.
		t.traits = t.traits || e.Event == "Traits Changed" || e.Event == "Consent Changed" || strings.HasPrefix(e.Event, "Message ")
		return
	}
	t.anyEvent = true
	t.traits = t.traits || e.Type == event.Identify
	if e.Type == event.Track {
		if t.events == nil {
			t.events = map[string]bool{}
		}
		t.events[e.Event] = true
	}
}

// historical says whether a change to segment c is caused by history
// alone.
func (t *touch) historical(c *compiled) bool {
	return t.live == nil || !t.live.affects(c)
}

func (t *touch) affects(c *compiled) bool {
	if t.all || t.anyEvent && c.anyEvent || t.traits && c.traits || t.timed && c.timed {
		return true
	}
	for e := range t.events {
		if c.events[e] {
			return true
		}
	}
	return false
}

// Process applies a batch of events (already unified) to the segments.
func (s *Stage) Process(ctx context.Context, batch []*event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	return s.process(ctx, batch, nil)
}

// Routed is how a partition of the stage (docs/scale.md "Partitions that
// respect identity") hands it a batch: the profile of each event as the
// router resolved it once for every partition (not as the holders say
// now: a later merge must not move an event to another partition's
// profile), its own checkpoint name ("segment.p3"), and the checkpoint
// that the batch brings it to (past the last event: the events between
// belong to other partitions).
type Routed struct {
	Consumer   string
	Checkpoint int64
	Owners     []int64
	Merges     map[int][2]int64
}

// ProcessRouted applies a partition's batch (possibly empty: only its
// checkpoint moves) with the profiles r gives. The segments' daily counts
// are not written: partitions would overwrite each other's (they are
// counted from the memberships instead, docs/scale.md).
func (s *Stage) ProcessRouted(ctx context.Context, batch []*event.Event, r Routed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(batch) == 0 {
		return s.st.ApplySegments(ctx, &store.SegmentBatch{Consumer: r.Consumer, Checkpoint: r.Checkpoint, At: s.o.Clock.Now()})
	}
	return s.process(ctx, batch, &r)
}

// process applies a non-empty batch; routed, if set, gives its profiles
// and checkpoint. Lock must be held.
func (s *Stage) process(ctx context.Context, batch []*event.Event, routed *Routed) error {
	if !s.loaded {
		return errors.New("segment: definitions not loaded")
	}
	consumer, checkpoint := Consumer, batch[len(batch)-1].Seq
	resolve := s.resolve
	if routed != nil {
		consumer, checkpoint = routed.Consumer, routed.Checkpoint
		resolve = func(ctx context.Context, batch []*event.Event) ([]int64, map[int][2]int64, error) {
			owners := slices.Clone(routed.Owners)
			skipOwn(batch, owners)
			return owners, routed.Merges, nil
		}
	}
	indexing := s.o.Index.Ready()
	if len(s.set.segs) == 0 {
		// No live segment: nothing to keep but the index; a segment saved
		// later is backfilled from the timelines.
		var owners []int64
		var merges map[int][2]int64
		if indexing {
			var err error
			if owners, merges, err = resolve(ctx, batch); err != nil {
				return err
			}
		}
		err := s.st.ApplySegments(ctx, &store.SegmentBatch{Consumer: consumer, Checkpoint: checkpoint, At: s.o.Clock.Now()})
		if err == nil {
			if indexing {
				s.o.Index.add(batch, owners, merges)
			}
			s.Processed.Publish(batch[len(batch)-1].Seq)
			if s.o.OnBatch != nil {
				s.o.OnBatch(batch[len(batch)-1].Seq)
			}
		}
		return err
	}
	start := time.Now()
	owners, merges, err := resolve(ctx, batch)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(owners)+len(merges))
	for _, o := range owners {
		if o != 0 {
			ids = append(ids, o)
		}
	}
	for _, m := range merges {
		ids = append(ids, m[0], m[1])
	}
	w, err := s.begin(ctx, ids)
	if err != nil {
		return err
	}
	w.routed = routed != nil
	for i, e := range batch {
		id := owners[i]
		if m, ok := merges[i]; ok {
			w.merge(m[0], m[1], e)
			continue
		}
		if id == 0 || w.deleted[id] {
			continue
		}
		_, known := w.states[id]
		st := w.state(id)
		t := w.touch(id, "event "+strconv.FormatInt(e.Seq, 10), "e"+strconv.FormatInt(e.Seq, 10), e.Timestamp)
		t.note(e, !known)
		if !e.Historical(event.DefaultMaxAge) {
			t.news().note(e, !known)
			t.received = e.ReceivedAt
		}
		if e.Channel != profile.InternalChannel {
			s.set.Observe(st, e, w.now)
		}
	}
	if err := w.evaluate(ctx); err != nil {
		return err
	}
	w.batch.Consumer, w.batch.Checkpoint = consumer, checkpoint
	if routed != nil {
		w.batch.Sizes = nil
	}
	if err := s.commit(ctx, w); err != nil {
		return err
	}
	if indexing {
		s.o.Index.add(batch, owners, merges)
	}
	s.o.Metrics.batch(len(batch), time.Since(start), w.batch.Changes)
	s.o.Metrics.entries(s.o.Clock.Now(), w.entered)
	s.Processed.Publish(batch[len(batch)-1].Seq)
	if s.o.OnBatch != nil {
		s.o.OnBatch(batch[len(batch)-1].Seq)
	}
	return nil
}

// resolve finds the profile of each event (unify.Owners), but for the
// stage's own announcements, which it does not read. merges maps the index
// of each Profile Merged event to (into, merged).
func (s *Stage) resolve(ctx context.Context, batch []*event.Event) ([]int64, map[int][2]int64, error) {
	owners, merges, err := unify.Owners(ctx, s.st, s.o.Rules, batch)
	if err != nil {
		return nil, nil, fmt.Errorf("segment: %w", err)
	}
	skipOwn(batch, owners)
	return owners, merges, nil
}

// skipOwn clears the owner of the stage's own announcements and of the
// message outcomes it does not read.
func skipOwn(batch []*event.Event, owners []int64) {
	for i, e := range batch {
		if e.Channel == profile.InternalChannel && (e.Event == EventEntered || e.Event == EventExited || outcomeOnly[e.Event]) {
			owners[i] = 0
		}
	}
}

// outcomeOnly are the message pipeline's announcements that change nothing
// a segment reads: internal events are not behaviour (no condition
// counts them), and these change neither consent nor suppressions (a
// bounce, a failure with a bad address or an unsubscribe may, and are
// still evaluated). A broadcast announces one per recipient: skipping
// them spares a profile load and an evaluation each.
var outcomeOnly = map[string]bool{
	"Message Sent": true, "Message Delivered": true, "Message Deferred": true, "Message Skipped": true,
}

// begin loads the profiles and states a batch needs.
func (s *Stage) begin(ctx context.Context, ids []int64) (*work, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	profiles, err := s.st.LoadProfiles(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("segment: load profiles: %w", err)
	}
	raw, err := s.st.SegmentStates(ctx, ids)
	if err != nil {
		return nil, err
	}
	w := &work{s: s, now: s.o.Clock.Now(), states: map[int64]*State{}, profiles: profiles,
		why: map[int64]*touch{}, deleted: map[int64]bool{}}
	if s.o.Consent != nil && s.set.consent {
		if w.consent, err = s.o.Consent(ctx, ids); err != nil {
			return nil, fmt.Errorf("segment: load consent: %w", err)
		}
	}
	w.batch.States = map[int64][]byte{}
	w.batch.Timers = map[int64]time.Time{}
	w.batch.At = w.now
	for id, b := range raw {
		st := NewState()
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("segment: state of profile %d: %w", id, err)
		}
		w.states[id] = st
	}
	return w, nil
}

func (w *work) state(id int64) *State {
	st, ok := w.states[id]
	if !ok {
		st = NewState()
		w.states[id] = st
	}
	return st
}

func (w *work) touch(id int64, reason, cause string, at time.Time) *touch {
	t, ok := w.why[id]
	if !ok {
		t = &touch{}
		w.why[id] = t
	}
	t.reason, t.cause, t.at = reason, cause, at
	return t
}

// merge folds the state of merged into into. The merged profile leaves its
// segments without an announcement: the customer did not leave them, they
// are evaluated again as the surviving profile.
func (w *work) merge(into, merged int64, e *event.Event) {
	if into == merged || w.deleted[merged] {
		return
	}
	if old, ok := w.states[merged]; ok {
		w.state(into).Merge(old)
		for seg := range old.Members {
			w.batch.Changes = append(w.batch.Changes, store.SegmentChange{
				Segment: seg, Profile: merged, At: w.now, Reason: "merged into " + strconv.FormatInt(into, 10)})
			w.s.sizes[seg]--
			w.batch.Sizes = sizesOf(w.batch.Sizes, seg, w.s.sizes[seg])
		}
	}
	delete(w.states, merged)
	delete(w.why, merged)
	w.deleted[merged] = true
	w.batch.Deleted = append(w.batch.Deleted, merged)
	t := w.touch(into, "merge of "+strconv.FormatInt(merged, 10), "e"+strconv.FormatInt(e.Seq, 10), e.Timestamp)
	t.all = true
	if !e.Historical(event.DefaultMaxAge) {
		t.news().all = true
	}
}

func sizesOf(m map[string]int64, seg string, n int64) map[string]int64 {
	if m == nil {
		m = map[string]int64{}
	}
	m[seg] = n
	return m
}

// evaluate evaluates the touched profiles, records the changes and the
// events that announce them, and sets their timers.
func (w *work) evaluate(ctx context.Context) error {
	env := &profile.Env{Now: w.now, Stores: w.s.o.Stores, RFM: w.s.o.RFM()}
	ids := make([]int64, 0, len(w.why))
	for id := range w.why {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p, ok := w.profiles[id]
		if !ok {
			// Merged or gone since: its merge event handles it. A
			// partition's events keep the profile the router gave them,
			// which unify may have merged away since: what they changed
			// is kept for the merge to fold into the survivor.
			if w.routed {
				if err := w.keep(id); err != nil {
					return err
				}
			}
			continue
		}
		st := w.state(id)
		t := w.why[id]
		w.s.set.Prune(st, w.now)
		res := w.s.set.evaluate(Input{Profile: p, State: st, Env: env, Consent: w.consent[id], Suppressed: w.s.suppressed(ctx)}, t.affects)
		w.apply(id, st, res, t)
		if err := w.keep(id); err != nil {
			return err
		}
	}
	return nil
}

// keep records profile id's state in the batch.
func (w *work) keep(id int64) error {
	b, err := json.Marshal(w.state(id))
	if err != nil {
		return fmt.Errorf("segment: encode state of %d: %w", id, err)
	}
	w.batch.States[id] = b
	return nil
}

// apply records the difference between st's memberships and res.
func (w *work) apply(id int64, st *State, res Result, t *touch) {
	for _, c := range w.s.set.segs {
		seg := c.def.ID
		in := res.Members[seg]
		_, was := st.Members[seg]
		if in == was {
			continue
		}
		if st.Moves == nil {
			st.Moves = map[string]int{}
		}
		st.Moves[seg]++
		name := EventExited
		if in {
			name = EventEntered
			if !t.received.IsZero() && !t.timed {
				w.entered = append(w.entered, t.received)
			}
			if st.Members == nil {
				st.Members = map[string]time.Time{}
			}
			st.Members[seg] = w.now
			w.s.sizes[seg]++
		} else {
			delete(st.Members, seg)
			w.s.sizes[seg]--
		}
		w.batch.Sizes = sizesOf(w.batch.Sizes, seg, w.s.sizes[seg])
		w.batch.Changes = append(w.batch.Changes, store.SegmentChange{Segment: seg, Profile: id, Entered: in, At: w.now, Reason: t.reason})
		if w.s.o.Emit != nil {
			announce := map[string]any{"profileId": id, "segmentId": seg, "segmentName": c.def.Name, "reason": t.reason}
			if t.historical(c) {
				// Caused by history alone: journeys' segment triggers
				// ignore it (docs/journeys.md, History and freshness).
				announce["historical"] = true
			}
			props, _ := json.Marshal(announce)
			at := t.at
			if at.IsZero() || t.timed {
				at = w.now
			}
			cause := t.cause
			if cause == "t" {
				cause += strconv.FormatInt(st.Due[seg], 10) // the instant that fired
			}
			w.emit = append(w.emit, &event.Event{
				MessageID: fmt.Sprintf("parcours-segment-%s-%d-%d-%s", seg, id, st.Moves[seg], cause),
				Type:      event.Track, Event: name, Properties: props,
				Timestamp: at, ReceivedAt: w.now, SourceID: internalSource, Channel: profile.InternalChannel,
			})
		}
	}
	// A membership that no live segment has any more (the segment was
	// archived) is dropped.
	for seg := range st.Members {
		if _, ok := w.s.set.byID[seg]; !ok {
			delete(st.Members, seg)
		}
	}
	w.batch.Timers[id] = st.setDue(res.Due, func(seg string) bool { _, ok := w.s.set.byID[seg]; return ok })
}

// commit emits the announcements, then writes the batch. If the write
// fails the batch is processed again and emits the same message ids,
// which the log's dedup drops.
func (s *Stage) commit(ctx context.Context, w *work) error {
	if s.o.Emit != nil && len(w.emit) > 0 {
		if err := s.o.Emit.Submit(ctx, w.emit, nil); err != nil {
			s.reloadSizes(ctx)
			return fmt.Errorf("segment: emit membership events: %w", err)
		}
	}
	if err := s.st.ApplySegments(ctx, &w.batch); err != nil {
		s.reloadSizes(ctx)
		return err
	}
	return nil
}

// suppressed returns the Input.Suppressed of an evaluation: nil without
// the option; a lookup error counts as not suppressed, and is logged.
func (s *Stage) suppressed(ctx context.Context) func(channel, address string) bool {
	if s.o.Suppressed == nil {
		return nil
	}
	return func(channel, address string) bool {
		sup, err := s.o.Suppressed(ctx, channel, address)
		if err != nil {
			s.log.Warn("segment: suppression lookup failed", "channel", channel, "err", err)
		}
		return sup
	}
}

// reloadSizes re-reads the sizes after a batch that was not written.
func (s *Stage) reloadSizes(ctx context.Context) {
	if sizes, err := s.st.SegmentSizes(ctx); err == nil {
		s.sizes = sizes
	}
}
