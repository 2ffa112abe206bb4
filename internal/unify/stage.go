package unify

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// Stage runs the processor over the live log, and serialises with it the
// operations that rewrite profiles (unmerge, RFM scoring).
type Stage struct {
	st   Store
	proc *Processor
	o    Options
	mu   sync.Mutex // held while a batch or an unmerge runs

	rfmMu sync.RWMutex
	rfm   *profile.RFM
}

// NewStage returns the unify stage over st.
func NewStage(st Store, o Options) *Stage {
	return &Stage{st: st, proc: NewProcessor(st, o), o: o}
}

// BatchSize is how many events the stage applies per transaction.
const BatchSize = 2000

// Run follows the log until ctx ends.
func (s *Stage) Run(ctx context.Context, n *eventlog.Notifier) error {
	if r, err := s.st.LoadRFM(ctx); err == nil {
		s.setRFM(r)
	}
	c := &eventlog.Consumer{
		Name: Consumer, Log: s.st, Checkpoints: s.st, Notifier: n,
		BatchSize: BatchSize, Poll: time.Second, HandlerCheckpoints: true,
		Yield: s.o.Yield,
	}
	return c.Run(ctx, func(ctx context.Context, batch []*event.Event) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.proc.Process(ctx, batch); err != nil {
			return err
		}
		if s.o.Processed != nil {
			s.o.Processed.Publish(batch[len(batch)-1].Seq)
		}
		return nil
	})
}

// Process applies one batch of events outside Run (the simulator drives
// the stages itself), serialised with Run and Unmerge like a live batch.
func (s *Stage) Process(ctx context.Context, batch []*event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.proc.Process(ctx, batch); err != nil {
		return err
	}
	if s.o.Processed != nil && len(batch) > 0 {
		s.o.Processed.Publish(batch[len(batch)-1].Seq)
	}
	return nil
}

// Exclusive runs fn while no batch, replay or unmerge runs, and drops the
// stage's caches after: fn changed profiles behind it (an erasure).
func (s *Stage) Exclusive(ctx context.Context, fn func(ctx context.Context) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.proc.Reset()
	return fn(ctx)
}

// Replay rebuilds every profile from the log with the stage's options
// (see the function Replay), and drops the stage's caches after.
func (s *Stage) Replay(ctx context.Context, progress func(done, last int64)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.proc.Reset()
	return Replay(ctx, s.st, s.o, progress)
}

// Unmerge splits profile id by undoing one of its merges (mergeID, from
// its merge log): the event that made the merge is re-applied without the
// identifiers that brought the other profile, and every event of the
// profile is applied again from the log. It returns the profiles the
// events now belong to.
func (s *Stage) Unmerge(ctx context.Context, id, mergeID int64) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr, err := s.st.Profile(ctx, id)
	if err != nil {
		return nil, err
	}
	log, err := s.st.MergeLog(ctx, pr.ID)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(log, func(m store.MergeRecord) bool { return m.ID == mergeID })
	if i < 0 || !log[i].UndoneAt.IsZero() {
		return nil, fmt.Errorf("unify: %w", &problem.NotFoundError{Kind: "merge", ID: fmt.Sprint(mergeID),
			Hint: fmt.Sprintf("profile %d has no such merge to undo (see its merge log)", pr.ID)})
	}
	m := log[i]
	// The merging event keeps its most trusted identifier; the others are
	// no longer linked by it.
	ids := slices.Clone(m.Identifiers)
	slices.SortFunc(ids, func(a, b identity.Identifier) int {
		if s.proc.o.Rules.Less(a, b) {
			return -1
		}
		return 1
	})
	for _, x := range ids[1:] {
		if err := s.st.AddExclusion(ctx, store.Exclusion{EventSeq: m.EventSeq, Identifier: x}); err != nil {
			return nil, err
		}
	}
	return s.rebuild(ctx, pr.ID)
}

// rebuild forgets a profile and applies its events again. Lock must be held.
func (s *Stage) rebuild(ctx context.Context, id int64) ([]int64, error) {
	events, err := s.timeline(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.st.ForgetProfile(ctx, id); err != nil {
		return nil, err
	}
	s.proc.Reset()
	// Re-applying emits nothing: the events were announced the first time.
	// The batches' checkpoints are behind the live one, which never goes
	// back, so the live stage carries on where it was.
	rebuild := NewProcessor(s.st, Options{Rules: s.o.Rules, Clock: s.o.Clock, Logger: s.o.Logger})
	owners := map[int64]bool{}
	for start := 0; start < len(events); start += BatchSize {
		b, err := rebuild.process(ctx, events[start:min(start+BatchSize, len(events))])
		if err != nil {
			return nil, err
		}
		for _, t := range b.Timeline {
			owners[t.Profile] = true
		}
	}
	var profiles []int64
	for p := range owners {
		profiles = append(profiles, p)
	}
	slices.Sort(profiles)
	return profiles, nil
}

// timeline returns every event of a profile, in log order.
func (s *Stage) timeline(ctx context.Context, id int64) ([]*event.Event, error) {
	var all []*event.Event
	q := store.TimelineQuery{Profile: id, Limit: 1000}
	for {
		page, err := s.st.Timeline(ctx, q)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < q.Limit {
			break
		}
		last := page[len(page)-1]
		q.BeforeAt, q.BeforeSeq = last.Timestamp, last.Seq
	}
	slices.SortFunc(all, func(a, b *event.Event) int { return int(a.Seq - b.Seq) })
	return all, nil
}

// ScoreRFM recomputes the RFM quintiles of every customer.
func (s *Stage) ScoreRFM(ctx context.Context) (*profile.RFM, error) {
	in, err := s.st.RFMInputs(ctx)
	if err != nil {
		return nil, err
	}
	r := profile.ScoreRFM(in, s.o.Clock.Now())
	if err := s.st.SaveRFM(ctx, r); err != nil {
		return nil, err
	}
	s.setRFM(r)
	return r, nil
}

func (s *Stage) setRFM(r *profile.RFM) {
	s.rfmMu.Lock()
	s.rfm = r
	s.rfmMu.Unlock()
}

// RFM returns the last scoring, nil before the first.
func (s *Stage) RFM() *profile.RFM {
	s.rfmMu.RLock()
	defer s.rfmMu.RUnlock()
	return s.rfm
}

// Replay rebuilds every profile from the log: it deletes what unify
// derived and applies the whole log again, without emitting internal
// events (the first run did). progress is called after each batch.
func Replay(ctx context.Context, st Store, o Options, progress func(done, last int64)) error {
	if err := st.ResetUnify(ctx, Consumer); err != nil {
		return err
	}
	o.Emit = nil
	p := NewProcessor(st, o)
	last, err := st.LastSeq(ctx)
	if err != nil || last == 0 {
		return err // an empty log: nothing to apply (Until 0 would follow it for ever)
	}
	c := &eventlog.Consumer{Name: Consumer, Log: st, Checkpoints: st, BatchSize: BatchSize, HandlerCheckpoints: true, Until: last}
	return c.Run(ctx, func(ctx context.Context, batch []*event.Event) error {
		if err := p.Process(ctx, batch); err != nil {
			return err
		}
		if progress != nil {
			progress(batch[len(batch)-1].Seq, last)
		}
		return nil
	})
}
