package measure

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// Consumer is the measure stage's checkpoint name.
const Consumer = "measure"

// unifyConsumer is the unify stage's checkpoint: the measure stage counts
// per unified profile, so it reads behind unify.
const unifyConsumer = "unify"

// Store is what the measure stage reads and writes.
type Store interface {
	store.MeasureRollups
	unify.Holders
	eventlog.Reader
	eventlog.Checkpoints
}

// Options configure a Stage.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	Rules  *identity.Rules
	// Zone is the brand's time zone: days and periods are its local
	// dates. Default UTC.
	Zone *time.Location
	// Yield makes the stage wait while ingestion is saturated.
	Yield func() bool
	// FlushEvery is how often the rollups are written (default 1s): a
	// dashboard shows an order a second or two after it was acknowledged.
	FlushEvery time.Duration
	Metrics    *Metrics
	// Owners, if set, finds each event's profile instead of unify.Owners
	// (benchmarks that build rollups without running unify).
	Owners func(ctx context.Context, batch []*event.Event) ([]int64, map[int][2]int64, error)
}

// Stage keeps the measurement rollups: it follows the event log behind
// unify, counts each event once into the counters and profile sets of its
// day (its event time, in the brand's time zone: a late event lands in its
// own period), and writes them, with its checkpoint, in one transaction
// per flush. Everything it writes depends on the events, not on the order
// they arrived in, so a rebuild from the log gives the same rollups.
type Stage struct {
	st  Store
	o   Options
	log *slog.Logger

	mu         sync.Mutex // held while a batch or a flush runs
	prof       *profiles
	sets       *setCache
	p          *pending
	checkpoint int64     // the stored checkpoint
	flushedAt  time.Time // wall time: how often to write is plumbing, not what is counted
	maxDay     int32     // the latest day counted (at most tomorrow): its sets stay in memory
	today      int32     // when the batch in progress started
	err        error     // the first failure of the batch in progress
	props      props     // reused for each event's properties
	holders    *holderCache

	resetting atomic.Bool
	restart   chan struct{}
	// Processed is published with the checkpoint after each flush (tests
	// and benchmarks wait on it).
	Processed *eventlog.Notifier
}

// NewStage returns the stage over st.
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
	if o.Zone == nil {
		o.Zone = time.UTC
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = time.Second
	}
	return &Stage{st: st, o: o, log: o.Logger, prof: newProfiles(), sets: newSetCache(st), p: newPending(),
		holders: newHolderCache(st), restart: make(chan struct{}, 1), Processed: eventlog.NewNotifier()}
}

// Zone returns the brand's time zone.
func (s *Stage) Zone() *time.Location { return s.o.Zone }

// Load reads the stage's state from the store. Rollups built in another
// time zone than the configured one are dropped, to be built again from
// the log.
func (s *Stage) Load(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	zone, err := s.st.MeasureZone(ctx)
	if err != nil {
		return err
	}
	if zone != s.o.Zone.String() {
		if zone != "" {
			s.log.Warn("measure: the time zone changed; rebuilding the rollups from the event log", "was", zone, "now", s.o.Zone.String())
		}
		if err := s.st.ResetMeasure(ctx, Consumer, s.o.Zone.String()); err != nil {
			return err
		}
	}
	return s.load(ctx)
}

// load reads the profiles and the checkpoint. Lock should be held.
func (s *Stage) load(ctx context.Context) error {
	s.prof, s.p, s.err, s.holders = newProfiles(), newPending(), nil, newHolderCache(s.st)
	s.sets.reset()
	after := int64(0)
	for {
		page, err := s.st.MeasureProfiles(ctx, after, 100_000)
		if err != nil {
			return err
		}
		for _, r := range page {
			s.prof.load(r)
			s.maxDay = max(s.maxDay, r.LastDay)
		}
		if len(page) < 100_000 {
			break
		}
		after = page[len(page)-1].ID
	}
	clear(s.prof.dirty)
	cp, err := s.st.Checkpoint(ctx, Consumer)
	if err != nil {
		return err
	}
	s.checkpoint, s.flushedAt = cp, time.Now()
	s.Processed.Publish(cp)
	return nil
}

// Run follows the log behind unify until ctx ends (unifyDone, if set, is
// published by unify after each batch). It writes what it counted before
// returning. Rebuild makes it start over from the beginning of the log.
func (s *Stage) Run(ctx context.Context, unifyDone *eventlog.Notifier) error {
	if err := s.Load(ctx); err != nil {
		return fmt.Errorf("measure: load: %w", err)
	}
	for {
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { s.flushIdle(rctx); close(done) }()
		go func() {
			select {
			case <-s.restart:
				cancel()
			case <-rctx.Done():
			}
		}()
		c := &eventlog.Consumer{Name: Consumer, Log: eventlog.Behind{Log: s.st, Behind: []string{unifyConsumer}, Passed: unifyDone}, Checkpoints: s.st,
			Notifier: unifyDone, BatchSize: batchSize, Poll: time.Second, HandlerCheckpoints: true, Yield: s.o.Yield}
		err := c.Run(rctx, s.Process)
		cancel()
		<-done
		if ferr := s.Flush(context.WithoutCancel(ctx)); ferr != nil && err == nil {
			err = ferr
		}
		if ctx.Err() != nil {
			return nil
		}
		if s.resetting.Load() {
			if err := s.reset(ctx); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			// The batches after the checkpoint are handed over again:
			// forget what they changed in memory.
			s.mu.Lock()
			lerr := s.load(ctx)
			s.mu.Unlock()
			return errors.Join(err, lerr)
		}
		return nil
	}
}

// batchSize is how many events the stage reads at a time; a shorter batch
// means it has caught up with the log.
const batchSize = 1000

// Rebuild drops the rollups and has Run count the whole log again (in the
// background; Processed tells the progress).
func (s *Stage) Rebuild() {
	s.resetting.Store(true)
	select {
	case s.restart <- struct{}{}:
	default:
	}
}

// Rebuilding reports whether a rebuild was asked for and has not reset
// the rollups yet; once it has, the checkpoint (Status's behind) shows
// the progress.
func (s *Stage) Rebuilding() bool {
	// reset holds mu from clearing the flag until the rollups and the
	// checkpoint are reset: read under mu, a false flag means the reset,
	// if any, is visible.
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resetting.Load()
}

func (s *Stage) reset(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetting.Store(false)
	if err := s.st.ResetMeasure(ctx, Consumer, s.o.Zone.String()); err != nil {
		return fmt.Errorf("measure: rebuild: %w", err)
	}
	s.log.Info("measure: rebuilding the rollups from the event log")
	return s.load(ctx)
}

// flushIdle writes what is pending once FlushEvery has passed without a
// flush: the last batch before a pause is not kept waiting.
func (s *Stage) flushIdle(ctx context.Context) {
	t := time.NewTicker(s.o.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		if s.p.last > s.checkpoint && time.Since(s.flushedAt) >= s.o.FlushEvery {
			if err := s.flush(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("measure: write the rollups", "err", err)
			}
		}
		s.mu.Unlock()
	}
}

// Process counts one batch of the log (events unify has handled), and
// writes the rollups when FlushEvery has passed since the last write.
func (s *Stage) Process(ctx context.Context, batch []*event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	owners, merges, err := s.owners(ctx, batch)
	if err != nil {
		return fmt.Errorf("measure: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.today = dayOf(s.o.Clock.Now(), s.o.Zone)
	for i, e := range batch {
		if e.Seq <= s.p.last || e.Seq <= s.checkpoint {
			continue // handed over again: already counted
		}
		if m, ok := merges[i]; ok {
			s.merge(ctx, m[0], m[1])
			s.holders.merged(m[0], m[1])
		} else if owners[i] > 0 {
			// Found from the cache before a merge of this batch was
			// counted: the profile it became.
			s.apply(ctx, e, s.mergedTo(owners[i]))
		}
		s.p.last = e.Seq
		if s.err != nil {
			return fmt.Errorf("measure: event %d: %w", e.Seq, s.err)
		}
	}
	s.p.received = append(s.p.received, batch[0].ReceivedAt)
	// At most one write a second, caught up or not (flushIdle writes the
	// last batches of a pause): the single SQLite writer is ingestion's
	// first, and a flush rewrites the day's profile sets.
	if time.Since(s.flushedAt) >= s.o.FlushEvery {
		return s.flush(ctx)
	}
	return nil
}

func (s *Stage) owners(ctx context.Context, batch []*event.Event) ([]int64, map[int][2]int64, error) {
	if s.o.Owners != nil {
		return s.o.Owners(ctx, batch)
	}
	return unify.Owners(ctx, s.holders, s.o.Rules, batch)
}

// Flush writes what is pending.
func (s *Stage) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush(ctx)
}

// fail records the first error of the batch in progress. Lock should be
// held.
func (s *Stage) fail(err error) {
	if s.err == nil && err != nil {
		s.err = err
	}
}
