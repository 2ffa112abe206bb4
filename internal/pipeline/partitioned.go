package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message"
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

// journeyCheckpoints returns the journey stage's checkpoint names:
// "journey", or one per partition with partitions > 0 (journeys are
// partitioned with the segments).
func journeyCheckpoints(partitions int) []string {
	if partitions <= 0 {
		return []string{journey.Consumer}
	}
	out := make([]string, 0, partitions)
	for p := range partitions {
		out = append(out, partition.Name(journey.Consumer, p))
	}
	return out
}

// JourneyCheckpoints returns the names of the journey stage's
// checkpoints: "journey", or one per partition.
func (p *Pipeline) JourneyCheckpoints() []string { return journeyCheckpoints(p.cfg.Partitions) }

// SegmentCheckpoints returns the names of the segment stage's checkpoints:
// "segment", or one per partition.
func (p *Pipeline) SegmentCheckpoints() []string { return behindSegments(p.cfg.Partitions) }

// Router returns the router of the partitioned stages over src, which
// runs where unify runs (one ordered stage, under the pipeline lease).
func (p *Pipeline) Router(src partition.RouterStore) *partition.Router {
	return &partition.Router{Store: src, Rules: p.cfg.Rules, Partitions: p.cfg.Partitions}
}

// RunPartition runs partition part's share of the partitioned stages (the
// segment stage, and the journey stage behind it and behind the message
// stage) until ctx ends: the partition's events, in log order, each
// checkpoint written with the memberships or enrolments it covers. The
// node runs it while it holds the partition's lease
// (partition.Coordinator); once the partition has moved, PostgreSQL
// refuses its checkpoints, and with them the state they cover.
//
// It fires the segment timers of the partition's profiles too, every
// TimerEvery (default 1 s; negative: never, the caller ticks). The
// journeys' due steps (sends, waits) are not partitioned: Tick runs them
// where the ordered stages run, under its own leases.
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
	journeys := make(chan error, 1)
	go func() {
		jc := &partition.Consumer{Stage: journey.Consumer, Part: part, Src: src, Router: partition.RouterConsumer,
			Behind: []string{name, message.Consumer}, Start: journey.Consumer}
		err := jc.Run(ctx, p.journeyBatch)
		if err != nil {
			cancel()
		}
		journeys <- err
	}()
	c := &partition.Consumer{Stage: segment.Consumer, Part: part, Src: src, Router: partition.RouterConsumer}
	err := c.Run(ctx, p.segmentBatch)
	cancel()
	return errors.Join(err, <-journeys, <-timers)
}

// segmentBatch applies a partition's batch to the segment stage.
func (p *Pipeline) segmentBatch(ctx context.Context, b partition.Batch) error {
	return p.Segments.ProcessRouted(ctx, b.Events, segment.Routed{Consumer: b.Name, Checkpoint: b.Checkpoint, Owners: b.Owners, Merges: b.Merges})
}

// journeyBatch applies a partition's batch to the journey stage.
func (p *Pipeline) journeyBatch(ctx context.Context, b partition.Batch) error {
	return p.Journeys.ProcessRouted(ctx, b.Events, journey.Routed{Consumer: b.Name, Checkpoint: b.Checkpoint, Owners: b.Owners, Merges: b.Merges})
}
