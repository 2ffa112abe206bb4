package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/partition"
	"github.com/parcours/parcours/internal/segment"
)

// behindSegments returns the segment stage's checkpoint names, one per
// partition with partitions > 0, followed by others.
func behindSegments(partitions int, others ...string) []string {
	if partitions <= 0 {
		return append([]string{segment.Consumer}, others...)
	}
	out := make([]string, 0, partitions+len(others))
	for p := range partitions {
		out = append(out, partition.Name(segment.Consumer, p))
	}
	return append(out, others...)
}

// SegmentCheckpoints returns the names of the segment stage's checkpoints:
// "segment", or one per partition.
func (p *Pipeline) SegmentCheckpoints() []string { return behindSegments(p.cfg.Partitions) }

// Router returns the router of the partitioned stages over src, which
// runs where unify runs (one ordered stage, under the pipeline lease).
func (p *Pipeline) Router(src partition.RouterStore) *partition.Router {
	return &partition.Router{Store: src, Rules: p.cfg.Rules, Partitions: p.cfg.Partitions}
}

// RunPartition runs partition part's share of the partitioned stages (the
// segment stage) until ctx ends: the partition's events, in log order,
// each checkpoint written with the memberships it covers. The node runs it
// while it holds the partition's lease (partition.Coordinator); once the
// partition has moved, PostgreSQL refuses its checkpoints.
//
// It fires the segment timers of the partition's profiles too, every
// TimerEvery (default 1 s; negative: never, the caller ticks).
func (p *Pipeline) RunPartition(ctx context.Context, src partition.Source, part int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	name := partition.Name(segment.Consumer, part)
	timers := make(chan error, 1)
	go func() {
		if p.TimerEvery < 0 {
			timers <- nil
			return
		}
		t := time.NewTicker(cmp.Or(p.TimerEvery, time.Second))
		defer t.Stop()
		owns := func(id int64) bool { return partition.Of(id, p.cfg.Partitions) == part }
		for {
			select {
			case <-ctx.Done():
				timers <- nil
				return
			case <-t.C:
			}
			if _, err := p.Segments.TickRouted(ctx, name, owns); err != nil && ctx.Err() == nil {
				timers <- fmt.Errorf("partition %s: timers: %w", name, err)
				cancel()
				return
			}
		}
	}()
	c := &partition.Consumer{Stage: segment.Consumer, Part: part, Src: src, Router: partition.RouterConsumer}
	err := c.Run(ctx, func(ctx context.Context, b partition.Batch) error {
		return p.Segments.ProcessRouted(ctx, b.Events, segment.Routed{Consumer: b.Name, Checkpoint: b.Checkpoint, Owners: b.Owners, Merges: b.Merges})
	})
	cancel()
	return errors.Join(err, <-timers)
}
