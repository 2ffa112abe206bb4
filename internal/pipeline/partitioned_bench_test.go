package pipeline_test

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/partition"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/unify"
)

// cpuTime is this process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSegmentStagePartitioned measures what partitioning costs the
// segment stage per event, on PostgreSQL, in one process: the same 4,000
// events (the property test's mix, 400 customers) unified first (not
// timed), then segmented by the plain stage, or routed and segmented by
// 1 or 4 partitions run one after the other (the overhead of routes,
// per-partition reads and checkpoints, not the parallelism of several
// nodes). It reports this process's CPU per event (getrusage) and wall
// time per event; PostgreSQL's own CPU is not in either.
//
//	PARCOURS_TEST_POSTGRES_URL=… go test ./internal/pipeline -run '^$' -bench SegmentStagePartitioned -benchtime 1x -count 5
func BenchmarkSegmentStagePartitioned(b *testing.B) {
	for _, parts := range []int{0, 1, 4} {
		name := "plain"
		if parts > 0 {
			name = fmt.Sprintf("partitions-%d", parts)
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				benchSegments(b, parts)
			}
		})
	}
}

func benchSegments(b *testing.B, parts int) {
	b.StopTimer()
	ctx := context.Background()
	dsn := propSchema(b)
	st := propOpen(b, dsn)
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	p := propPipeline(b, st, clock.NewFake(now), parts, true)
	events := propEvents(mrand.New(mrand.NewPCG(1, 2)), 400, 4000, now)
	if err := st.Append(ctx, events, nil); err != nil {
		b.Fatal(err)
	}
	drain := func(name string, log eventlog.Reader, fn func(context.Context, []*event.Event) error) {
		for {
			moved, err := step(ctx, st, log, name, fn)
			if err != nil {
				b.Fatal(err)
			}
			if !moved {
				return
			}
		}
	}
	drain(unify.Consumer, st, p.Unify.Process)
	last, _ := st.LastSeq(ctx)
	cpu0, wall0 := cpuTime(), time.Now()
	b.StartTimer()
	if parts == 0 {
		stepBatch = 1000 // as a partition's batches
		defer func() { stepBatch = 200 }()
		drain(segment.Consumer, eventlog.Behind{Log: st, Behind: []string{unify.Consumer}}, p.Segments.Process)
	} else {
		st.DeclareNode("bench")
		if err := st.EnsurePartitions(ctx, parts); err != nil {
			b.Fatal(err)
		}
		for part := range parts {
			if _, ok, err := st.ClaimPartition(ctx, part, "bench", time.Hour); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
		drain(partition.RouterConsumer, eventlog.Behind{Log: st, Behind: []string{unify.Consumer}}, p.Router(st).Route)
		for part := range parts {
			c := &partition.Consumer{Stage: segment.Consumer, Part: part, Src: st, Router: partition.RouterConsumer}
			for {
				moved, err := c.Step(ctx, func(ctx context.Context, pb partition.Batch) error {
					return p.Segments.ProcessRouted(ctx, pb.Events, segment.Routed{Consumer: pb.Name, Checkpoint: pb.Checkpoint, Owners: pb.Owners, Merges: pb.Merges})
				}, 1000)
				if err != nil {
					b.Fatal(err)
				}
				if !moved {
					break
				}
			}
		}
	}
	b.StopTimer()
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	b.ReportMetric(float64(cpu.Microseconds())/float64(last), "cpu-µs/event")
	b.ReportMetric(float64(wall.Microseconds())/float64(last), "wall-µs/event")
}
