package collect

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// ErrOverloaded is returned when the commit queue is full: the caller should
// retry later (the HTTP layer answers 503 with Retry-After).
var ErrOverloaded = errors.New("collect: commit queue is full")

// ErrClosed is returned after the committer has been closed.
var ErrClosed = errors.New("collect: shutting down")

// Appender stores a group of events and rejections atomically; store.EventLog
// implements it.
type Appender interface {
	Append(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Committer turns concurrent submissions into group commits: while one
// transaction is being written, the next submissions queue up, and they are
// all written by the next transaction. Each submitter waits for the commit
// that holds its events, so an acknowledgement always means durable.
type Committer struct {
	app Appender
	// OnCommit, if set, is called after each commit with the highest
	// sequence number written.
	onCommit func(lastSeq int64)
	log      *slog.Logger

	maxEvents int           // events per transaction
	maxQueued int64         // events waiting, beyond which Submit refuses
	wait      time.Duration // how long Submit waits for room in the queue

	queue   chan *submission
	queued  atomic.Int64
	closing chan struct{}
	once    sync.Once
	done    chan struct{}

	stats CommitStats
	// rate is the recent commit throughput, events per second of commit
	// time (float64 bits; 0 until a large commit): see Backlog.
	rate atomic.Uint64
	// busyUntil (unix nanoseconds) is set while commits run back to back
	// with work waiting: see Busy.
	busyUntil atomic.Int64
}

// CommitStats counts the committer's work, for metrics and benchmarks.
type CommitStats struct {
	Commits atomic.Int64
	Events  atomic.Int64
}

type submission struct {
	events  []*event.Event
	rejects []*event.Rejection
	err     chan error
	// state moves from queued to taken (by a commit) or to withdrawn (by
	// a submitter that waited its bound); whichever comes first wins.
	state atomic.Int32
}

// Submission states.
const (
	queued int32 = iota
	taken
	withdrawn
)

// take claims s for a commit; false if its submitter withdrew it.
func (s *submission) take() bool { return s.state.CompareAndSwap(queued, taken) }

// CommitterOptions tune a Committer. Zero values take the defaults.
type CommitterOptions struct {
	MaxEventsPerCommit int           // default 5,000
	MaxQueuedEvents    int64         // default 200,000
	QueueWait          time.Duration // default 250ms
	OnCommit           func(lastSeq int64)
	Logger             *slog.Logger
}

// NewCommitter returns a committer writing to app. Call Run to start it.
func NewCommitter(app Appender, o CommitterOptions) *Committer {
	c := &Committer{
		app:       app,
		onCommit:  o.OnCommit,
		log:       o.Logger,
		maxEvents: o.MaxEventsPerCommit,
		maxQueued: o.MaxQueuedEvents,
		wait:      o.QueueWait,
		queue:     make(chan *submission, 4096),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
	}
	if c.maxEvents <= 0 {
		c.maxEvents = 5000
	}
	if c.maxQueued <= 0 {
		c.maxQueued = 200_000
	}
	if c.wait <= 0 {
		c.wait = 250 * time.Millisecond
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

// Stats returns the committer's counters.
func (c *Committer) Stats() *CommitStats { return &c.stats }

// busyBacklog is the number of events left waiting after a commit that marks
// the committer busy: more than a trickle of single events.
const busyBacklog = 500

// Busy reports whether ingestion is saturated: a recent commit finished
// with a backlog already waiting. Downstream stages (unify, segments) yield
// to ingestion while it is busy, so that a burst is acknowledged first and
// derived state catches up after it.
func (c *Committer) Busy() bool { return time.Now().UnixNano() < c.busyUntil.Load() }

// Queued returns the number of events waiting to be committed.
func (c *Committer) Queued() int64 { return c.queued.Load() }

// Backlog estimates how long events submitted now, after ahead more, would
// wait for a commit to take them: the events queued and ahead, at the
// recent commit rate. The HTTP handler refuses a request at once when it is
// beyond its bound, rather than decode events it would have to withdraw.
// Nothing waiting: 0, however slow the commits.
func (c *Committer) Backlog(ahead int64) time.Duration {
	rate := math.Float64frombits(c.rate.Load())
	q := c.queued.Load() + ahead
	if rate <= 0 || q <= 0 {
		return 0
	}
	return time.Duration(float64(q) / rate * float64(time.Second))
}

// Submit queues events and rejections for the next commit and waits until
// they are durable. On return each event's Seq is set (0 for a duplicate).
// If ctx ends first, Submit returns its error but the events may still be
// committed: a client that retries is protected by dedup.
func (c *Committer) Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error {
	return c.SubmitWithin(ctx, events, rejects, 0)
}

// SubmitWithin is Submit with a bound on the wait: if no commit has taken
// the events within wait, they are withdrawn and ErrOverloaded is returned —
// then they are certainly not stored, and the client is told to retry
// rather than held. Once a commit has taken them, SubmitWithin waits for it
// (one commit, at most MaxEventsPerCommit events). wait <= 0: no bound.
func (c *Committer) SubmitWithin(ctx context.Context, events []*event.Event, rejects []*event.Rejection, wait time.Duration) error {
	if len(events) == 0 && len(rejects) == 0 {
		return nil
	}
	n := int64(len(events) + len(rejects))
	// A submission larger than the whole queue is still let through when
	// the queue is empty, or it could never be committed.
	if q := c.queued.Add(n); q > c.maxQueued && q != n {
		c.queued.Add(-n)
		return ErrOverloaded
	}
	s := &submission{events: events, rejects: rejects, err: make(chan error, 1)}
	select {
	case <-c.closing:
		c.queued.Add(-n)
		return ErrClosed
	default:
	}
	select {
	case c.queue <- s:
	default:
		t := time.NewTimer(c.wait)
		defer t.Stop()
		select {
		case c.queue <- s:
		case <-t.C:
			c.queued.Add(-n)
			return ErrOverloaded
		case <-c.closing:
			c.queued.Add(-n)
			return ErrClosed
		case <-ctx.Done():
			c.queued.Add(-n)
			return ctx.Err()
		}
	}
	var bound <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		bound = t.C
	}
	select {
	case err := <-s.err:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-bound:
		if s.state.CompareAndSwap(queued, withdrawn) {
			c.queued.Add(-n)
			return ErrOverloaded
		}
	}
	// A commit took the events just in time: its outcome is the answer.
	select {
	case err := <-s.err:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run commits until Close is called, then commits what is queued and
// returns.
func (c *Committer) Run() {
	defer close(c.done)
	for {
		var first *submission
		select {
		case first = <-c.queue:
		case <-c.closing:
			// Drain: submissions already queued are committed.
			for {
				select {
				case s := <-c.queue:
					if s.take() {
						c.commit([]*submission{s})
					}
				default:
					return
				}
			}
		}
		if !first.take() {
			continue // withdrawn: its submitter was answered already
		}
		group := []*submission{first}
		n := len(first.events)
	more:
		for n < c.maxEvents {
			select {
			case s := <-c.queue:
				if s.take() {
					group = append(group, s)
					n += len(s.events)
				}
			default:
				break more
			}
		}
		c.commit(group)
	}
}

// observe updates the commit rate with a commit of n events that took d.
// Large commits tell the throughput: a moving average of the last few. A
// small commit is mostly fixed cost (the fsync), so its rate only bounds
// the throughput from below: it may raise the estimate, never lower it —
// or one slow commit followed by refusals, hence small commits, would keep
// the estimate low for ever.
func (c *Committer) observe(n int, d time.Duration) {
	r := float64(n) / max(d.Seconds(), 1e-6)
	old := math.Float64frombits(c.rate.Load())
	switch {
	case n < busyBacklog:
		if r <= old || old == 0 {
			return // no large commit seen yet: no estimate
		}
	case old > 0:
		r = old*0.7 + r*0.3
	}
	c.rate.Store(math.Float64bits(r))
}

// Close stops accepting submissions and waits until the queued ones are
// committed.
func (c *Committer) Close() {
	c.once.Do(func() { close(c.closing) })
	<-c.done
}

func (c *Committer) commit(group []*submission) {
	var events []*event.Event
	var rejects []*event.Rejection
	for _, s := range group {
		events = append(events, s.events...)
		rejects = append(rejects, s.rejects...)
	}
	// The commit itself is not cancelled by shutdown: its submitters are
	// waiting for it.
	start := time.Now()
	err := c.app.Append(context.Background(), events, rejects)
	if n := len(events) + len(rejects); err == nil && n > 0 {
		c.observe(n, time.Since(start))
	}
	if err != nil && len(group) > 1 {
		// One submission must not fail the others: commit them one by one so
		// that only the faulty one gets the error.
		c.log.Warn("group commit failed; retrying its submissions one by one", "submissions", len(group), "err", err)
		for _, s := range group {
			c.commit([]*submission{s})
		}
		return
	}
	var last int64
	if err == nil {
		for _, e := range events {
			last = max(last, e.Seq)
		}
		c.stats.Commits.Add(1)
		c.stats.Events.Add(int64(len(events)))
	}
	// Readers of the log are woken before the submitters: the events are
	// durable either way, and downstream latency is what the wake-up costs.
	if last > 0 && c.onCommit != nil {
		c.onCommit(last)
	}
	for _, s := range group {
		c.queued.Add(-int64(len(s.events) + len(s.rejects)))
		s.err <- err
	}
	if c.queued.Load() > busyBacklog {
		c.busyUntil.Store(time.Now().Add(250 * time.Millisecond).UnixNano())
	}
}
