package privacy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// Day is 24 hours, the unit retention periods are written in.
const Day = 24 * time.Hour

// Policy says how long each kind of personal data is kept. A zero
// duration keeps that kind forever.
type Policy struct {
	// Events is how long raw events stay in the log, for every source
	// without its own period in EventsBySource (by source id or name).
	Events         time.Duration
	EventsBySource map[string]time.Duration
	// AnonymousProfiles is how long a profile known only by anonymous ids
	// (a visitor never identified) is kept after its last event.
	AnonymousProfiles time.Duration
	// MessageBodies is how long the rendered contents of a sent (or
	// failed, or skipped) message are kept; the message's record stays.
	MessageBodies time.Duration
	// Rejections is how long refused events (which may hold personal data
	// in their payload) are kept.
	Rejections time.Duration
	// RequestKeys is how long the API remembers an idempotency key (and
	// its answer, which may name a person): a retry after that is a new
	// request.
	RequestKeys time.Duration
}

// DefaultPolicy is the retention Parcours applies unless configured
// otherwise, chosen to fit the CNIL's guidance (docs/security.md#retention):
// 13 months for raw events (the CNIL's limit for tracker data), 90 days
// for visitors never identified, 6 months for message contents, 30 days
// for rejected events and idempotency keys.
func DefaultPolicy() Policy {
	return Policy{Events: 395 * Day, AnonymousProfiles: 90 * Day, MessageBodies: 183 * Day, Rejections: 30 * Day, RequestKeys: 30 * Day}
}

// RetentionStore is what retention reads and writes.
type RetentionStore interface {
	Store
	ListSources(ctx context.Context) ([]*source.Source, error)
}

// RetentionReport counts what one pass removed, by kind: "events",
// "anonymous_profiles", "message_bodies", "rejections", "request_keys".
type RetentionReport map[string]int64

// Retention applies a Policy: Run is one pass, Loop runs it periodically.
// A pass is idempotent: a second one with nothing newly expired removes
// nothing. It works in batches, each its own transaction, so that it never
// holds the writer for long and a pass cut short is simply continued by
// the next.
type Retention struct {
	Store   RetentionStore
	Service *Service // erases the expired anonymous profiles
	Policy  Policy
	Clock   clock.Clock
	Log     *slog.Logger
	Metrics *RetentionMetrics
	// Progress, if set, is told after each batch: the kind and how many
	// of it the pass removed so far.
	Progress func(kind string, removed int64)
	// Batch is the rows per transaction (0: 1,000).
	Batch int
}

// Run applies the policy once, as of the clock's now.
func (r *Retention) Run(ctx context.Context) (RetentionReport, error) {
	clk := r.Clock
	if clk == nil {
		clk = clock.System{}
	}
	now := clk.Now()
	batch := r.Batch
	if batch <= 0 {
		batch = 1000
	}
	rep := RetentionReport{}
	drain := func(kind string, fn func() (int64, error)) error {
		for {
			n, err := fn()
			if err != nil {
				return fmt.Errorf("retention: %s: %w", kind, err)
			}
			rep[kind] += n
			r.Metrics.removed(kind, n)
			if r.Progress != nil && n > 0 {
				r.Progress(kind, rep[kind])
			}
			if n < int64(batch) {
				return nil
			}
		}
	}
	var errs []error
	if sources, err := r.Store.ListSources(ctx); err != nil {
		errs = append(errs, fmt.Errorf("retention: sources: %w", err))
	} else {
		ids := []string{unify.SourceID} // what Parcours appends itself
		for _, s := range sources {
			ids = append(ids, s.ID)
		}
		for _, id := range ids {
			keep := r.eventsPeriod(id, sources)
			if keep <= 0 {
				continue
			}
			errs = append(errs, drain("events", func() (int64, error) {
				return r.Store.PruneEvents(ctx, id, now.Add(-keep), batch)
			}))
		}
	}
	if keep := r.Policy.AnonymousProfiles; keep > 0 {
		errs = append(errs, drain("anonymous_profiles", func() (int64, error) {
			return r.anonymous(ctx, now.Add(-keep), batch)
		}))
	}
	if keep := r.Policy.MessageBodies; keep > 0 {
		errs = append(errs, drain("message_bodies", func() (int64, error) {
			return r.Store.PruneMessageBodies(ctx, now.Add(-keep), batch)
		}))
	}
	if keep := r.Policy.Rejections; keep > 0 {
		errs = append(errs, drain("rejections", func() (int64, error) {
			return r.Store.PruneRejections(ctx, now.Add(-keep), batch)
		}))
	}
	if keep := r.Policy.RequestKeys; keep > 0 {
		errs = append(errs, drain("request_keys", func() (int64, error) {
			return r.Store.PruneRequestKeys(ctx, now.Add(-keep), batch)
		}))
	}
	r.Metrics.ran(now)
	return rep, errors.Join(errs...)
}

// eventsPeriod is how long the events of source id are kept.
func (r *Retention) eventsPeriod(id string, sources []*source.Source) time.Duration {
	if d, ok := r.Policy.EventsBySource[id]; ok {
		return d
	}
	for _, s := range sources {
		if s.ID == id {
			if d, ok := r.Policy.EventsBySource[s.Name]; ok {
				return d
			}
		}
	}
	return r.Policy.Events
}

// anonymous erases one batch of expired anonymous profiles, without
// suppressing their anonymous ids (a visitor coming back is tracked
// again, under the consent their browser gives).
func (r *Retention) anonymous(ctx context.Context, before time.Time, batch int) (int64, error) {
	ids, err := r.Store.AnonymousProfiles(ctx, before, 0, batch)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	s := r.Service
	var forgotten []int64
	var erased int64
	for _, id := range ids {
		run := func(ctx context.Context) error {
			person, _, err := s.Person(ctx, id)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return nil
				}
				return err
			}
			forgotten = append(forgotten, person.Profiles...)
			erased++
			_, err = r.Store.ErasePerson(ctx, person, s.clock().Now().UTC(), "retention: anonymous profile")
			return err
		}
		if s.Unify != nil {
			err = s.Unify.Exclusive(ctx, run)
		} else {
			err = run(ctx)
		}
		if err != nil {
			return 0, err
		}
	}
	if s.Index != nil {
		if err := s.Index.Forget(forgotten); err != nil {
			return 0, fmt.Errorf("behaviour index: %w", err)
		}
	}
	if erased == 0 {
		// None of them could be erased (gone meanwhile): stop this pass
		// rather than be handed the same ones again.
		return 0, nil
	}
	return erased, nil
}

// Loop runs a pass every interval until ctx ends, the first one a minute
// after it starts (or after every, if shorter): a start, often a restart
// after a crash, has more urgent work. A failed pass is logged; the next
// one continues where it stopped.
func (r *Retention) Loop(ctx context.Context, every time.Duration) error {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(min(every, time.Minute)):
	}
	for {
		rep, err := r.Run(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("retention pass failed", "err", err)
		} else if len(rep) > 0 {
			log.Info("retention pass", "removed", rep)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
	}
}

// RetentionMetrics count retention's work. A nil *RetentionMetrics counts
// nothing.
type RetentionMetrics struct {
	removedTotal *prometheus.CounterVec
	lastRun      prometheus.Gauge
}

// NewRetentionMetrics creates the retention metrics and registers them
// with reg.
func NewRetentionMetrics(reg prometheus.Registerer) *RetentionMetrics {
	m := &RetentionMetrics{
		removedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_retention_removed_total",
			Help: "Records removed by retention, by kind (events, anonymous_profiles, message_bodies, rejections)."}, []string{"kind"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parcours_retention_last_run_timestamp_seconds", Help: "When the last retention pass ended (unix seconds)."}),
	}
	reg.MustRegister(m.removedTotal, m.lastRun)
	return m
}

func (m *RetentionMetrics) removed(kind string, n int64) {
	if m != nil {
		m.removedTotal.WithLabelValues(kind).Add(float64(n))
	}
}

func (m *RetentionMetrics) ran(at time.Time) {
	if m != nil {
		m.lastRun.Set(float64(at.Unix()))
	}
}

// View is the policy in days, as the API and the CLI show it (0: kept
// forever).
func (p Policy) View() map[string]any {
	days := func(d time.Duration) int64 { return int64(d / Day) }
	by := map[string]int64{}
	for k, d := range p.EventsBySource {
		by[k] = days(d)
	}
	return map[string]any{"events_days": days(p.Events), "events_by_source_days": by,
		"anonymous_profiles_days": days(p.AnonymousProfiles), "message_bodies_days": days(p.MessageBodies),
		"rejections_days": days(p.Rejections)}
}
