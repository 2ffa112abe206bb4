// Package eventlog is how downstream parts read the event log: in order,
// from a checkpoint, waking up as soon as new events are committed.
//
//	c := eventlog.Consumer{Name: "identity", Log: st, Checkpoints: st, Notifier: n}
//	err := c.Run(ctx, func(ctx context.Context, batch []*event.Event) error { ... })
package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// Reader reads the log in order; store.EventLog implements it.
type Reader interface {
	ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error)
}

// Checkpoints keeps consumers' progress; store.Checkpoints implements it.
type Checkpoints interface {
	Checkpoint(ctx context.Context, consumer string) (int64, error)
	SaveCheckpoint(ctx context.Context, consumer string, seq int64) error
}

// Notifier tells waiting readers that the log has grown. The committer of
// this process publishes to it; events appended by other processes are seen
// by the readers' periodic poll.
type Notifier struct {
	mu   sync.Mutex
	last int64
	at   time.Time     // when last last moved
	ch   chan struct{} // closed and replaced on each publish
}

// NewNotifier returns a notifier.
func NewNotifier() *Notifier { return &Notifier{ch: make(chan struct{})} }

// Publish records that events up to seq are committed and wakes the
// waiting readers.
func (n *Notifier) Publish(seq int64) {
	n.mu.Lock()
	if seq > n.last {
		n.last, n.at = seq, time.Now()
		close(n.ch)
		n.ch = make(chan struct{})
	}
	n.mu.Unlock()
}

// Last returns the last seq published.
func (n *Notifier) Last() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.last
}

// lastAt returns the last seq published and when it was.
func (n *Notifier) lastAt() (int64, time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.last, n.at
}

// Wait returns when an event after seq has been published, when poll has
// passed, or when ctx ends.
func (n *Notifier) Wait(ctx context.Context, after int64, poll time.Duration) {
	n.mu.Lock()
	last, ch := n.last, n.ch
	n.mu.Unlock()
	if last > after {
		return
	}
	t := time.NewTimer(poll)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// Handler processes one batch of events, in log order. It must be
// idempotent: after a crash, the batch after the last checkpoint is handed
// over again.
type Handler func(ctx context.Context, batch []*event.Event) error

// Consumer follows the log from its checkpoint.
type Consumer struct {
	Name        string
	Log         Reader
	Checkpoints Checkpoints
	Notifier    *Notifier     // optional; without it the consumer polls
	BatchSize   int           // default 1,000
	Poll        time.Duration // how often to look for events from other processes; default 1s
	// HandlerCheckpoints says that the handler saves the checkpoint itself,
	// in the same transaction as its work.
	HandlerCheckpoints bool
	// Until, if set, stops the consumer once it has handled the log up to
	// this seq (or found nothing more): a replay.
	Until int64
	// Yield, if set, is asked before each batch; while it says true the
	// consumer waits (at most MaxYield per batch), leaving the machine to
	// a more urgent stage (ingestion during a burst).
	Yield    func() bool
	MaxYield time.Duration // default 1s
	// CheckpointEvery, if set, saves the checkpoint at most this often
	// (and when the consumer stops or goes idle) instead of after every
	// batch: for a consumer no other reads behind, whose handler is
	// idempotent, it saves a write per batch. A crash hands over again
	// at most this much of the log.
	CheckpointEvery time.Duration
	// Done, if set, is told the last seq of each batch once it is
	// handled and its checkpoint saved: readers that stay behind this
	// consumer can read up to it.
	Done func(seq int64)
}

// yield waits while c.Yield says so, at most MaxYield.
func (c *Consumer) yield(ctx context.Context) { YieldTo(ctx, c.Yield, c.MaxYield) }

// YieldTo waits while yield says so (nil: never), at most limit (default
// 1s), checking every 20 ms: a stage's way of leaving the machine to
// ingestion during a burst.
func YieldTo(ctx context.Context, yield func() bool, limit time.Duration) {
	if yield == nil {
		return
	}
	if limit <= 0 {
		limit = time.Second
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for yield() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-tick.C:
		}
	}
}

// Run hands every event after the checkpoint to handle, saving the
// checkpoint after each batch, until ctx ends (or, with Until, once the
// log is read up to it). An error from handle stops the consumer: the batch
// is not checkpointed and will be handed over again.
//
// The next batch is read and decoded while the handler works on the
// current one, so that reading and handling use two cores.
func (c *Consumer) Run(ctx context.Context, handle Handler) error {
	after, err := c.Checkpoints.Checkpoint(ctx, c.Name)
	if err != nil {
		return fmt.Errorf("eventlog: %s: %w", c.Name, err)
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []*event.Event, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- c.read(ctx, after, batches)
	}()
	// pending is a handled batch whose checkpoint is not saved yet (with
	// CheckpointEvery); it is saved even if ctx ended meanwhile, so that a
	// restart does not hand it over again.
	var pending int64
	saved := time.Now()
	save := func() error {
		if pending == 0 {
			return nil
		}
		if err := c.Checkpoints.SaveCheckpoint(Replayable(context.WithoutCancel(ctx)), c.Name, pending); err != nil {
			return fmt.Errorf("eventlog: %s: %w", c.Name, err)
		}
		if c.Done != nil {
			c.Done(pending)
		}
		pending, saved = 0, time.Now()
		return nil
	}
	for {
		var batch []*event.Event
		var ok bool
		if pending != 0 {
			wait := time.NewTimer(max(0, c.CheckpointEvery-time.Since(saved)))
			select {
			case batch, ok = <-batches:
			case <-wait.C:
				wait.Stop()
				if err := save(); err != nil {
					return err
				}
				continue
			}
			wait.Stop()
		} else {
			batch, ok = <-batches
		}
		if !ok {
			break
		}
		c.yield(ctx)
		if err := handle(Replayable(ctx), batch); err != nil {
			if ctx.Err() != nil {
				break
			}
			return errors.Join(fmt.Errorf("eventlog: %s: events %d-%d: %w", c.Name, batch[0].Seq, batch[len(batch)-1].Seq, err), save())
		}
		last := batch[len(batch)-1].Seq
		if c.HandlerCheckpoints {
			if c.Done != nil {
				c.Done(last)
			}
			continue
		}
		pending = last
		if c.CheckpointEvery <= 0 || time.Since(saved) >= c.CheckpointEvery {
			if err := save(); err != nil {
				return err
			}
		}
	}
	if err := save(); err != nil {
		return err
	}
	cancel()
	for range batches { // let the reader finish
	}
	// The caller's context, not ours (just cancelled): a read that failed
	// (the database restarting) is an error to restart from, not a stop.
	if err := <-readErr; err != nil && parent.Err() == nil {
		return err
	}
	return nil
}

// read sends the batches of the log after after to out, waiting for new
// events when it is caught up.
func (c *Consumer) read(ctx context.Context, after int64, out chan<- []*event.Event) error {
	size, poll := c.BatchSize, c.Poll
	if size <= 0 {
		size = 1000
	}
	if poll <= 0 {
		poll = time.Second
	}
	n := c.Notifier
	if n == nil {
		n = NewNotifier()
	}
	for ctx.Err() == nil {
		if c.Until > 0 && after >= c.Until {
			return nil
		}
		batch, err := c.Log.ReadAfter(ctx, after, size)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("eventlog: %s: read after %d: %w", c.Name, after, err)
		}
		if len(batch) == 0 {
			if c.Until > 0 {
				return nil
			}
			if n.Last() > after {
				// Announced but not readable yet: a consumer this one
				// stays behind published before its checkpoint was
				// visible. Waiting a moment beats spinning on queries.
				select {
				case <-ctx.Done():
				case <-time.After(2 * time.Millisecond):
				}
				continue
			}
			n.Wait(ctx, after, poll)
			continue
		}
		select {
		case out <- batch:
		case <-ctx.Done():
			return nil
		}
		after = batch[len(batch)-1].Seq
	}
	return nil
}

// Gate publishes to Out the lowest of the positions its inputs report:
// a reader that must stay behind several consumers is woken once all of
// them have passed a position, not each time one of them moves.
type Gate struct {
	Out *Notifier
	mu  sync.Mutex
	at  []int64
}

// NewGate returns a gate over n inputs publishing to out.
func NewGate(out *Notifier, n int) *Gate { return &Gate{Out: out, at: make([]int64, n)} }

// Report records that input i has handled the log up to seq.
func (g *Gate) Report(i int, seq int64) {
	g.mu.Lock()
	if seq > g.at[i] {
		g.at[i] = seq
	}
	low := g.at[0]
	for _, v := range g.at[1:] {
		low = min(low, v)
	}
	g.mu.Unlock()
	g.Out.Publish(low)
}

// Checkpointed reads the log and the consumers' checkpoints.
type Checkpointed interface {
	Reader
	Checkpoint(ctx context.Context, consumer string) (int64, error)
}

// Behind is a Reader that never reads past the checkpoints of the
// consumers it follows: a stage that needs what they derived (unify's
// profiles, segments' memberships) reads only the events they handled.
type Behind struct {
	Log    Checkpointed
	Behind []string // the consumers' names
	// Passed, if set, is published in this process with a position every
	// followed consumer has handled and whose checkpoint is committed
	// (unify's Processed, a Gate over the followed consumers' Done): while
	// it is ahead of the reader, the reader goes up to it without asking
	// the store for the checkpoints — two queries at every wake-up
	// otherwise, one per small commit at /v1/track rates. Once the reader
	// has caught up with it, the reader waits for its next publish
	// without asking the store either, as long as it moved in the last
	// PassedFresh: the followed consumers run here and say how far they
	// got. It is a lower bound: the checkpoints are read when it has not
	// moved for longer (at start, when the followed consumers run in
	// another process, or when something else moved their checkpoints),
	// at each of the reader's polls.
	Passed *Notifier
}

// PassedFresh is how long a Behind reader trusts Passed alone after it
// last moved.
const PassedFresh = time.Second

// ReadAfter returns up to limit events after after that every followed
// consumer has handled.
func (b Behind) ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	if b.Passed != nil {
		done, at := b.Passed.lastAt()
		if done > after {
			return b.upTo(ctx, after, limit, done)
		}
		if done > 0 && time.Since(at) < PassedFresh {
			return nil, nil
		}
	}
	var done int64 = -1
	for _, name := range b.Behind {
		cp, err := b.Log.Checkpoint(ctx, name)
		if err != nil {
			return nil, err
		}
		if done < 0 || cp < done {
			done = cp
		}
	}
	if done <= after {
		return nil, nil
	}
	return b.upTo(ctx, after, limit, done)
}

// upTo reads up to limit events after after and up to done.
func (b Behind) upTo(ctx context.Context, after int64, limit int, done int64) ([]*event.Event, error) {
	events, err := b.Log.ReadAfter(ctx, after, int(min(int64(limit), done-after)))
	for len(events) > 0 && events[len(events)-1].Seq > done {
		events = events[:len(events)-1]
	}
	return events, err
}
