package journey

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// state is what an enrolment keeps besides its step.
type state struct {
	// Waiting: the current step (wait, wait_for) has started and waits
	// for its timer (or, wait_for, the event).
	Waiting bool `json:"waiting,omitempty"`
	// Attempts counts failed sends of the current step.
	Attempts int `json:"attempts,omitempty"`
	// Converted is when the customer reached the journey's goal.
	Converted time.Time `json:"converted,omitzero"`
	// Event holds the properties of the event that enrolled the customer
	// (all of them, within MaxEventProperties bytes: see keptProperties),
	// for the sends' templates ({{ event.* }}) and the steps'
	// placeholders; EventOmitted names those left out. EventStore is the
	// store the event names (its store_id property, else its POS
	// source's store): the sends' {{ store }}. Pos is the event's
	// position, kept only for journeys that read it.
	Event        map[string]any `json:"event,omitempty"`
	EventOmitted []string       `json:"event_omitted,omitempty"`
	EventStore   string         `json:"event_store,omitempty"`
	Pos          *Position      `json:"pos,omitempty"`
	// Store is the store the last in_stock case found.
	Store *StoreStock `json:"store,omitempty"`
	// Occurrence is the date (YYYY-MM-DD) whose date_trait trigger
	// enrolled the customer: one enrolment per occurrence.
	Occurrence string `json:"occurrence,omitempty"`
	// Trigger is the re_entry key and the time of the triggering event.
	Trigger *triggered `json:"trigger,omitempty"`
}

func readState(en *store.Enrolment) *state {
	var s state
	if len(en.State) > 0 {
		_ = json.Unmarshal(en.State, &s)
	}
	return &s
}

func (s *state) encode() []byte {
	b, _ := json.Marshal(s)
	return b
}

// claimBatch is how many due enrolments one claim takes.
const claimBatch = 1000

// maxAttempts is how many times a failing send is tried before the step
// is skipped.
const maxAttempts = 5

// Wake makes the timer loop look for due enrolments now.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// RunTimers fires due enrolments every interval (and when woken) until
// ctx ends. With an Owner of its own (a node id), it first takes back the
// leases a previous run of the same owner died holding, so that their
// enrolments go on at once instead of after the lease.
func (e *Engine) RunTimers(ctx context.Context, every time.Duration) {
	if n, err := e.TakeBackLeases(ctx); err != nil {
		e.log.Error("journey: take back this node's leases", "err", err)
	} else if n > 0 {
		e.log.Warn("journey: took back the leases of this node's previous run", "owner", e.o.Owner, "enrolments", n)
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("journey: timers", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.wake:
		}
	}
}

// TakeBackLeases ends the leases this engine's Owner holds (a previous
// run of the same node died holding them): their enrolments are due again
// at once. An engine without an Owner of its own takes back nothing: it
// could not tell its leases from another's.
func (e *Engine) TakeBackLeases(ctx context.Context) (int64, error) {
	if e.o.Owner == defaultOwner {
		return 0, nil
	}
	return e.st.ReleaseEnrolmentLeases(ctx, e.o.Owner, e.o.Clock.Now())
}

// Tick runs the schedules whose time has come, then the steps of every
// enrolment due now, a claimed batch at a time, and returns how many
// enrolments it moved.
func (e *Engine) Tick(ctx context.Context) (int, error) {
	e.mu.Lock()
	err := e.runSchedules(ctx)
	if err == nil {
		err = e.runDateTimers(ctx)
	}
	e.mu.Unlock()
	if err != nil {
		return 0, fmt.Errorf("journey: schedules: %w", err)
	}
	total := 0
	for {
		n, err := e.tickBatch(ctx)
		total += n
		if err != nil || n < claimBatch {
			return total, err
		}
	}
}

func (e *Engine) tickBatch(ctx context.Context) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.o.Clock.Now()
	due, err := e.st.ClaimDueEnrolments(ctx, now, e.o.Owner, e.o.Lease, claimBatch)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	b := &batch{now: now, changed: map[*store.Enrolment]bool{}}
	r := &runner{e: e, b: b}
	if err := r.load(ctx, due); err != nil {
		return 0, err
	}
	if err := r.runAll(ctx, due); err != nil {
		return 0, err
	}
	if len(r.emit) > 0 && e.o.Emit != nil {
		if err := e.o.Emit.Submit(ctx, r.emit, nil); err != nil {
			return 0, fmt.Errorf("journey: emit trait updates: %w", err)
		}
	}
	jb := b.write("", 0)
	jb.Owner = e.o.Owner
	if err := e.st.ApplyJourneys(ctx, jb); err != nil {
		return 0, err
	}
	return len(due), nil
}

// runAll runs the due enrolments, up to SendConcurrency at once: each
// holds r.mu while it runs, and lets go of it only while its sender works,
// so sends overlap (the message pipeline commits concurrent sends
// together) and everything else stays serial. With a BatchSender and a
// SendConcurrency above 1, every due enrolment may wait on its send at
// once: their sends are gathered into batches (see sendGroup), a
// broadcast's recipients at one step handed to the sender hundreds at a
// time. A SendConcurrency of 1 keeps the enrolments in order (the
// simulator), each send a batch of one.
func (r *runner) runAll(ctx context.Context, due []*store.Enrolment) error {
	n := max(1, r.e.o.SendConcurrency)
	if _, ok := r.e.o.Sender.(BatchSender); ok && n > 1 {
		n = max(n, len(due))
	}
	work := make(chan *store.Enrolment)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for en := range work {
				r.mu.Lock()
				err := r.run(ctx, en)
				r.b.changed[en] = true
				r.mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var err error
feed:
	for _, en := range due {
		select {
		case work <- en:
		case err = <-errs:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// send calls the sender without holding r.mu. Lock must be held.
func (r *runner) send(ctx context.Context, req SendRequest) error {
	r.mu.Unlock()
	defer r.mu.Lock()
	if bs, ok := r.e.o.Sender.(BatchSender); ok {
		return r.sends.send(ctx, bs, req)
	}
	return r.e.o.Sender.Send(ctx, req)
}

// runner runs the steps of one claimed batch.
type runner struct {
	// mu is held while an enrolment runs, except during its send.
	mu       sync.Mutex
	e        *Engine
	b        *batch
	sends    sendGroup
	profiles map[int64]*profile.Profile
	segs     map[int64]*segment.State
	emit     []*event.Event
}

// load reads the profiles (and their segment memberships) the batch's
// branches and trait updates need.
func (r *runner) load(ctx context.Context, due []*store.Enrolment) error {
	var ids []int64
	for _, en := range due {
		p, err := r.e.program(ctx, en.Journey, en.Version)
		if err != nil {
			return err
		}
		if p.profiles {
			ids = append(ids, en.Profile)
		}
	}
	var err error
	r.profiles, r.segs, err = r.e.loadProfiles(ctx, ids)
	return err
}

// loadProfiles reads profiles and the segment memberships recorded for
// them.
func (e *Engine) loadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, map[int64]*segment.State, error) {
	segs := map[int64]*segment.State{}
	if len(ids) == 0 {
		return map[int64]*profile.Profile{}, segs, nil
	}
	profiles, err := e.st.LoadProfiles(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("journey: load profiles: %w", err)
	}
	raw, err := e.st.SegmentStates(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	for id, b := range raw {
		st := segment.NewState()
		if err := json.Unmarshal(b, st); err != nil {
			return nil, nil, fmt.Errorf("journey: segment state of %d: %w", id, err)
		}
		segs[id] = st
	}
	return profiles, segs, nil
}

// run moves one due enrolment through its steps until it waits or ends;
// each kind of step is taken by its own method of pass (runstep.go).
func (r *runner) run(ctx context.Context, en *store.Enrolment) error {
	e, now := r.e, r.b.now
	p, err := e.program(ctx, en.Journey, en.Version)
	if err != nil {
		return err
	}
	// at is when the steps happen: the instant the timer was due, so that
	// waits do not drift when timers fire late (up to MaxLateness).
	at := now
	if !en.DueAt.IsZero() && now.Sub(en.DueAt) <= e.o.MaxLateness {
		at = en.DueAt
	}
	en.DueAt = time.Time{}
	x := &pass{runner: r, en: en, p: p, st: readState(en), now: now, at: at}
	en.UpdatedAt = now
	defer func() { en.State = x.st.encode() }()
	// A journey is a tree, so an enrolment takes each step at most once:
	// the bound only guards against a bug.
	for range 1000 {
		if en.Step == "" {
			x.finish(EnrolCompleted, "reached the end of the journey")
			return nil
		}
		n := p.nodes[en.Step]
		if n == nil {
			x.finish(EnrolExited, "step "+en.Step+" is not in version "+fmt.Sprint(en.Version))
			return nil
		}
		stop, err := x.step(ctx, n)
		if err != nil || stop {
			return err
		}
		en.DueAt = time.Time{}
	}
	return fmt.Errorf("journey: enrolment %d of %s loops", en.ID, en.Journey)
}

// retry counts a failed try of the current step (a send, a webhook, a
// task) and, while tries are left and the failure is not for good, sets
// the step's timer for the next one, 2, 4, 8 then 16 minutes later; false:
// give up.
func retry(st *state, en *store.Enrolment, now time.Time, forGood bool) (time.Duration, bool) {
	st.Attempts++
	if forGood || st.Attempts >= maxAttempts {
		return 0, false
	}
	d := time.Duration(1<<st.Attempts) * time.Minute
	en.DueAt = now.Add(d)
	return d, true
}

func (r *runner) profile(id int64) *profile.Profile {
	if p := r.profiles[id]; p != nil {
		return p
	}
	return profile.New(id)
}
