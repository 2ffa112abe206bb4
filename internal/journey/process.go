package journey

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// knownSegments lists the segments a definition may name.
func knownSegments(ctx context.Context, st Store, stores []place.Location) (segment.Known, error) {
	known := segment.Known{Segments: map[string]*segment.Definition{}, Stores: stores}
	recs, err := st.ListSegments(ctx)
	if err != nil {
		return known, err
	}
	for _, r := range recs {
		if r.Status != segment.StatusArchived {
			known.Segments[r.ID] = &segment.Definition{ID: r.ID}
		}
	}
	return known, nil
}

// Run follows the log behind the segment stage until ctx ends. segmented,
// if set, is published by the segment stage after each of its batches.
func (e *Engine) Run(ctx context.Context, segmented *eventlog.Notifier) error {
	after := e.o.After
	if len(after) == 0 {
		after = []string{SegmentConsumer}
	}
	c := &eventlog.Consumer{
		Name: Consumer, Log: eventlog.Behind{Log: e.st, Behind: after, Passed: segmented}, Checkpoints: e.st, Notifier: segmented,
		BatchSize: 1000, Poll: time.Second, HandlerCheckpoints: true, Yield: e.o.Yield,
	}
	return c.Run(ctx, e.Process)
}

// seen is one event as the engine matches it.
type seen struct {
	e       *event.Event
	props   map[string]any
	segment string // Segment Entered/Exited: the segment
	// historical: a Segment Entered/Exited caused by history alone.
	historical bool
	stores     []place.Location
}

func (m *Match) matches(s *seen) bool {
	switch {
	case m.Event != "":
		return s.e.Type == event.Track && s.e.Event == m.Event && segment.MatchProperties(s.props, m.Where) &&
			(m.Near == nil || s.near(m.Near))
	case m.SegmentEntered != "":
		return s.segment == m.SegmentEntered && s.e.Event == segment.EventEntered
	case m.SegmentExited != "":
		return s.segment == m.SegmentExited && s.e.Event == segment.EventExited
	}
	return false
}

// batch is the enrolments one batch of events or timers changes.
type batch struct {
	now time.Time
	// profiles and segs are loaded when a journey's entry_when needs
	// them.
	profiles map[int64]*profile.Profile
	segs     map[int64]*segment.State
	byProf   map[int64][]*store.Enrolment
	changed  map[*store.Enrolment]bool
	inserts  []*store.Enrolment
	log      []store.StepLog
	// occurrence, while a date_trait trigger enrols, is the date it is
	// for: the re-entry policy gives way to one enrolment per occurrence.
	occurrence string
}

// record appends to the step log (the analytics).
func (b *batch) record(en *store.Enrolment, step, kind, outcome, channel string, at time.Time) {
	b.log = append(b.log, store.StepLog{Enrolment: en, Step: step, Kind: kind, Outcome: outcome, Channel: channel, At: at})
}

func (b *batch) touch(en *store.Enrolment) {
	if en.ID != 0 {
		b.changed[en] = true
	}
}

// Process applies a batch of events (unified and segmented) to the
// journeys: exits, awaited events, and entries. It writes the enrolments
// with the checkpoint in one transaction; the steps they make due run at
// the next Tick.
func (e *Engine) Process(ctx context.Context, events []*event.Event) error {
	if len(events) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.process(ctx, events, Consumer, events[len(events)-1].Seq, e.resolve)
}

// process applies a batch under consumer's checkpoint; resolve gives each
// event's profile and the merges (unify's holders, or a partition's
// routes). Lock must be held.
func (e *Engine) process(ctx context.Context, events []*event.Event, consumer string, checkpoint int64,
	resolve func(context.Context, []*event.Event) ([]int64, map[int][2]int64, error)) error {
	if !e.loaded {
		return errors.New("journey: definitions not loaded")
	}
	if len(e.latest) == 0 || len(events) == 0 {
		// No live or paused journey, so no active enrolment (archiving
		// ends them): only the checkpoint moves.
		return e.st.ApplyJourneys(ctx, &store.JourneyBatch{Consumer: consumer, Checkpoint: checkpoint, At: e.o.Clock.Now()})
	}
	owners, merges, err := resolve(ctx, events)
	if err != nil {
		return err
	}
	waiting, ids, err := e.awaited(ctx, events, owners)
	if err != nil {
		return err
	}
	for _, o := range owners {
		if o != 0 {
			ids = append(ids, o)
		}
	}
	for _, m := range merges {
		ids = append(ids, m[1])
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	b, err := e.begin(ctx, ids)
	if err != nil {
		return err
	}
	for _, p := range e.latest {
		if p.entryProfiles {
			if b.profiles, b.segs, err = e.loadProfiles(ctx, ids); err != nil {
				return err
			}
			break
		}
	}
	for i, ev := range events {
		if owners[i] == 0 && len(waiting[i]) == 0 {
			continue
		}
		if m, ok := merges[i]; ok {
			e.merge(b, m[0], m[1])
			continue
		}
		s := seenOf(ev, e.o.Stores)
		if owners[i] == 0 {
			if err := e.observeAwaited(ctx, b, waiting[i], s); err != nil {
				return err
			}
			continue
		}
		if err := e.observe(ctx, b, owners[i], s); err != nil {
			return err
		}
	}
	// Timers before the checkpoint: a crash in between sets them again.
	if changed := e.traitChanges(events, owners); len(changed) > 0 {
		profiles, _, err := e.loadProfiles(ctx, changed)
		if err != nil {
			return err
		}
		if err := e.setDateTimers(ctx, profiles, b.now); err != nil {
			return err
		}
	}
	jb := b.write(consumer, checkpoint)
	if err := e.st.ApplyJourneys(ctx, jb); err != nil {
		return err
	}
	if len(jb.Insert)+len(jb.Update) > 0 {
		e.Wake()
	}
	return nil
}

func (e *Engine) begin(ctx context.Context, ids []int64) (*batch, error) {
	b := &batch{now: e.o.Clock.Now(), byProf: map[int64][]*store.Enrolment{}, changed: map[*store.Enrolment]bool{}}
	all, err := e.st.ProfileEnrolments(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("journey: load enrolments: %w", err)
	}
	for _, en := range all {
		b.byProf[en.Profile] = append(b.byProf[en.Profile], en)
	}
	return b, nil
}

func (b *batch) write(consumer string, checkpoint int64) *store.JourneyBatch {
	jb := &store.JourneyBatch{Consumer: consumer, Checkpoint: checkpoint, Insert: b.inserts, Log: b.log, At: b.now}
	for en := range b.changed {
		jb.Update = append(jb.Update, en)
	}
	slices.SortFunc(jb.Update, func(x, y *store.Enrolment) int { return int(x.ID - y.ID) })
	return jb
}

// observe applies one event of profile id. Lock should be held.
func (e *Engine) observe(ctx context.Context, b *batch, id int64, s *seen) error {
	why := s.e.Event + " (event " + strconv.FormatInt(s.e.Seq, 10) + ")"
	if s.segment != "" {
		why = s.e.Event + " " + s.segment + " (event " + strconv.FormatInt(s.e.Seq, 10) + ")"
	}
	for _, en := range b.byProf[id] {
		if _, kept := e.latest[en.Journey]; !kept && en.Status != EnrolActive {
			continue // an archived journey counts no more conversions
		}
		p, err := e.program(ctx, en.Journey, en.Version)
		if err != nil {
			return err
		}
		if !p.about(en, s) {
			continue // keyed: the event is about another order
		}
		e.convert(b, p, en, s, why)
		if en.Status != EnrolActive {
			continue
		}
		if i := slices.IndexFunc(p.def.ExitOn, func(m Match) bool { return m.matches(s) }); i >= 0 && exits(s, en) {
			e.end(b, en, EnrolExited, fmt.Sprintf("exit_on[%d]: %s", i, why), fmt.Sprintf("exit_on[%d]: %s", i, s.label()))
			continue
		}
		e.awake(b, p, en, s, why)
	}
	for _, jid := range e.sortedLive() {
		e.trigger(b, e.latest[jid], id, s, why)
	}
	return nil
}

// trigger enrols profile id in p if one of p's triggers takes the event s
// (and s is news for it). Lock should be held.
func (e *Engine) trigger(b *batch, p *program, id int64, s *seen, why string) {
	var stale *Trigger
	for i := range p.def.Triggers {
		t := &p.def.Triggers[i]
		if t.API || t.Schedule != nil || t.DateTrait != nil || !t.Match.matches(s) {
			continue
		}
		if s.history(t.maxAge()) {
			if stale == nil {
				stale = t
			}
			continue
		}
		if _, refused := e.enter(b, p, id, "trigger: "+why, s); refused != "" {
			e.trace(TraceEntry{At: b.now, Journey: p.def.ID, Version: p.version, Profile: id, Kind: "enter",
				What: "not entered", Why: refused})
		}
		return
	}
	if stale != nil {
		e.trace(TraceEntry{At: b.now, Journey: p.def.ID, Version: p.version, Profile: id, Kind: "enter",
			What: "not entered", Why: why + ": " + s.historyWhy(stale.maxAge())})
	}
}

// awake moves an enrolment waiting for the event s on to its on_event
// steps. Lock should be held.
func (e *Engine) awake(b *batch, p *program, en *store.Enrolment, s *seen, why string) {
	n := p.nodes[en.Step]
	if n == nil || n.step.WaitFor == nil {
		return
	}
	st := readState(en)
	if !st.Waiting || !n.step.WaitFor.Match.matchesFor(s, st) {
		return
	}
	if max := n.step.WaitFor.maxAge(); s.history(max) {
		e.trace(TraceEntry{At: b.now, Journey: en.Journey, Version: en.Version, Enrolment: en.ID, Profile: en.Profile,
			Step: n.addr, Name: n.step.Name, Kind: "wait_for", What: "event ignored", Why: why + ": " + s.historyWhy(max)})
		return
	}
	st.Waiting = false
	en.Step, en.DueAt, en.State, en.UpdatedAt = n.onEvent, b.now, st.encode(), b.now
	b.touch(en)
	b.record(en, n.addr, "wait_for", "event", "", b.now)
	e.trace(TraceEntry{At: b.now, Journey: en.Journey, Version: en.Version, Enrolment: en.ID, Profile: en.Profile,
		Step: n.addr, Name: n.step.Name, Kind: "wait_for", What: "event arrived", Why: why})
	if n.onEvent == "" {
		e.end(b, en, EnrolCompleted, "reached the end of the journey", "")
	}
}

// sortedLive lists the live journeys' ids in order. Lock should be held.
func (e *Engine) sortedLive() []string {
	ids := make([]string, 0, len(e.latest))
	for id := range e.latest {
		if e.status[id] == StatusLive {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// enter enrols a profile if the re-entry policy allows; it reports why
// not otherwise. s is the event that enrols them (nil: none). Lock should
// be held.
//
// In a keyed journey (re_entry.key) the policy applies per key: the
// enrolments with another key are not looked at.
func (e *Engine) enter(b *batch, p *program, id int64, why string, s *seen) (*store.Enrolment, string) {
	d := p.def
	key := p.keyOf(s)
	var last *store.Enrolment
	for _, en := range b.byProf[id] {
		if en.Journey != d.ID {
			continue
		}
		if d.ReEntry.Key != "" && readState(en).key() != key {
			continue
		}
		if en.Status == EnrolActive {
			if d.ReEntry.Key != "" {
				return nil, "already in the journey for " + keyLabel(d.ReEntry.Key, key)
			}
			return nil, "already in the journey"
		}
		if last == nil || en.EnteredAt.After(last.EnteredAt) {
			last = en
		}
	}
	if last != nil && b.occurrence == "" {
		switch d.ReEntry.Policy {
		case ReEntryAlways:
		case ReEntryCooldown:
			if until := last.EnteredAt.Add(time.Duration(*d.ReEntry.Cooldown)); b.now.Before(until) {
				return nil, "re-entry cool-down until " + until.Format(time.RFC3339)
			}
		default:
			return nil, "already entered once (re_entry: once)"
		}
	}
	if d.EntryWhen != nil {
		prof := b.profiles[id]
		if prof == nil {
			prof = profile.New(id)
		}
		if !segment.Match(d.EntryWhen, segment.Input{Profile: prof, State: b.segs[id], Env: &profile.Env{Now: b.now, Stores: e.o.Stores}}) {
			return nil, "entry_when does not hold"
		}
	}
	en := &store.Enrolment{Journey: d.ID, Version: p.version, Profile: id, Status: EnrolActive, Step: p.first,
		DueAt: b.now, EnteredAt: b.now, UpdatedAt: b.now}
	st := p.entryState(s)
	st.Occurrence = b.occurrence
	if s != nil {
		st.Trigger = &triggered{Key: key, At: s.e.Timestamp}
		if d.ReEntry.Key != "" {
			why += " for " + keyLabel(d.ReEntry.Key, key)
		}
	}
	en.State = st.encode()
	what := "entered"
	if inControl(d, id) {
		en.Status, en.DueAt, en.EndedAt, en.Reason = EnrolControl, time.Time{}, b.now, "control group"
		what = "entered the control group (receives nothing)"
	}
	b.inserts = append(b.inserts, en)
	b.byProf[id] = append(b.byProf[id], en)
	b.record(en, "", "enter", map[bool]string{true: "control", false: "entered"}[en.Status == EnrolControl], "", b.now)
	e.trace(TraceEntry{At: b.now, Journey: d.ID, Version: p.version, Profile: id, Kind: "enter", What: what, Why: why})
	return en, ""
}

// end closes an enrolment; key is the reason as the analytics count it
// (without the event that caused it; "": the reason). Lock should be
// held.
func (e *Engine) end(b *batch, en *store.Enrolment, status, reason, key string) {
	en.Status, en.DueAt, en.EndedAt, en.Reason, en.UpdatedAt = status, time.Time{}, b.now, reason, b.now
	b.touch(en)
	if key == "" {
		key = reason
	}
	b.record(en, "", status, key, "", b.now)
	e.trace(TraceEntry{At: b.now, Journey: en.Journey, Version: en.Version, Enrolment: en.ID, Profile: en.Profile,
		Kind: status, What: "left the journey", Why: reason})
}

// label names an event for the analytics: its name, and the segment for
// Segment Entered/Exited.
func (s *seen) label() string {
	if s.segment != "" {
		return s.e.Event + " " + s.segment
	}
	return s.e.Event
}

// entryState is a new enrolment's state: the event that enrolled the
// customer as its steps and sends read it (its properties, bounded by
// keptProperties, and the store it names).
func (p *program) entryState(s *seen) *state {
	st := &state{}
	if s == nil {
		return st
	}
	st.Event, st.EventOmitted = keptProperties(s.props, p.refs)
	st.EventStore = eventStore(s)
	if p.pos {
		if lat, lon, ok := s.position(); ok {
			st.Pos = &Position{Lat: lat, Lon: lon}
		}
	}
	return st
}

// property reads a property, nested keys with dots ("product.sku").
func property(props map[string]any, key string) any {
	if v, ok := props[key]; ok {
		return v
	}
	head, rest, ok := strings.Cut(key, ".")
	if m, isMap := props[head].(map[string]any); ok && isMap {
		return property(m, rest)
	}
	return nil
}
