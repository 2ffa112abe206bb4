package partition

import (
	"context"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store/postgres"
)

// Source is what a partition's consumer reads: the routed events and the
// checkpoints (*postgres.Store).
type Source interface {
	PartitionEvents(ctx context.Context, part int, after, upto int64, limit int) ([]*event.Event, []postgres.Route, error)
	Checkpoint(ctx context.Context, consumer string) (int64, error)
}

// Batch is what a partition's consumer hands its stage: the events of the
// partition in log order, each event's profile as routed, the Profile
// Merged events among them (index -> into, merged), and the checkpoint the
// stage saves with its state, in the same transaction, under Name. The
// checkpoint may lie past the last event (the events between are other
// partitions'); Events may be empty (only the checkpoint moves).
type Batch struct {
	Name       string
	Events     []*event.Event
	Owners     []int64
	Merges     map[int][2]int64
	Checkpoint int64
}

// Handler applies a batch and saves its checkpoint with its state.
type Handler func(ctx context.Context, b Batch) error

// Consumer follows one stage's share of one partition: the events the
// router gave the partition, never past the router's checkpoint, in log
// order; before a merge whose merged profile lives in another partition,
// it waits until that partition's consumer of the same stage has passed
// the merge.
type Consumer struct {
	Stage  string // "segment": checkpoints "segment.p<n>"
	Part   int
	Src    Source
	Router string // the router's checkpoint name (RouterConsumer)
	// Behind are further checkpoints the consumer stays behind: the
	// journey stage of a partition reads behind the same partition's
	// segment stage ("segment.p3") and the message stage.
	Behind []string
	// Start, if set, is the checkpoint of the stage before it was
	// partitioned ("journey"): a partition that has not started yet
	// starts after it, so that a single node's database switched to
	// partitions does not handle its log again.
	Start string
	// BatchSize is how many events a batch holds at most (default 1,000);
	// Poll how often the consumer looks for new routes (default 200 ms).
	BatchSize int
	Poll      time.Duration
	// Waiting, if set, is told when the consumer waits for another
	// partition (a merge's barrier) and for how long it waited.
	Waiting func(other int, d time.Duration)
}

// Run follows the partition until ctx ends or handle fails.
func (c *Consumer) Run(ctx context.Context, handle Handler) error {
	size, poll := c.BatchSize, c.Poll
	if size <= 0 {
		size = 1000
	}
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	name := Name(c.Stage, c.Part)
	for ctx.Err() == nil {
		moved, err := c.Step(ctx, handle, size)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("partition %s: %w", name, err)
		}
		if !moved {
			select {
			case <-ctx.Done():
			case <-time.After(poll):
			}
		}
	}
	return nil
}

// Step hands over at most one batch; it says false when there was nothing
// to hand over (caught up with the router, or waiting on a barrier).
func (c *Consumer) Step(ctx context.Context, handle Handler, size int) (bool, error) {
	name := Name(c.Stage, c.Part)
	after, err := c.Src.Checkpoint(ctx, name)
	if err != nil {
		return false, err
	}
	if after == 0 && c.Start != "" {
		if after, err = c.Src.Checkpoint(ctx, c.Start); err != nil {
			return false, err
		}
	}
	upto, err := c.Src.Checkpoint(ctx, c.Router)
	if err != nil {
		return false, err
	}
	for _, b := range c.Behind {
		cp, err := c.Src.Checkpoint(ctx, b)
		if err != nil {
			return false, err
		}
		upto = min(upto, cp)
	}
	if upto <= after {
		return false, nil
	}
	events, routes, err := c.Src.PartitionEvents(ctx, c.Part, after, upto, size)
	if err != nil {
		return false, err
	}
	hi := upto
	if len(events) == size {
		hi = events[len(events)-1].Seq
	}
	// Cut before a merge from another partition: the checkpoint moves up
	// to the event before it, which the barrier asks of this partition
	// too when others wait on it.
	for i, r := range routes {
		if r.MergedPart < 0 || r.MergedPart == c.Part {
			continue
		}
		if i > 0 {
			events, routes, hi = events[:i], routes[:i], r.Seq-1
			break
		}
		if after < r.Seq-1 {
			return true, handle(ctx, Batch{Name: name, Checkpoint: r.Seq - 1})
		}
		// The merge is next: the merged profile's partition must have
		// handled every event before it.
		other, err := c.Src.Checkpoint(ctx, Name(c.Stage, r.MergedPart))
		if err != nil {
			return false, err
		}
		if other < r.Seq-1 {
			if c.Waiting != nil {
				c.Waiting(r.MergedPart, 0)
			}
			return false, nil
		}
		// Passed: this merge and what follows, up to the next merge
		// from elsewhere.
		for j := 1; j < len(routes); j++ {
			if m := routes[j].MergedPart; m >= 0 && m != c.Part {
				events, routes, hi = events[:j], routes[:j], routes[j].Seq-1
				break
			}
		}
		break
	}
	b := Batch{Name: name, Events: events, Checkpoint: hi, Owners: make([]int64, len(events)), Merges: map[int][2]int64{}}
	for i, r := range routes {
		b.Owners[i] = r.Profile
		if r.MergedPart >= 0 {
			b.Merges[i] = [2]int64{r.Profile, r.Merged}
		}
	}
	return true, handle(ctx, b)
}
