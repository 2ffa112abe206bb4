package server_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/bench"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/unify"
)

// cpuTime is the CPU (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchmarkCatchUp ingests b.N batches of 100 events (~600 bytes, 8
// requests in flight) and waits until every stage (unify, segments,
// consent, journeys, commerce, measure) has handled them all: the cost of
// an event through the whole pipeline, reported as CPU time per event
// (steadier than wall time on a shared machine) beside events/s.
func benchmarkCatchUp(b *testing.B, tail int) {
	h := newHarness(b, func(o *server.Options) { o.LogTail = tail })
	const size = 100
	tpl := bench.NewTemplate("batch", size, 600, "c")
	ctx := context.Background()
	stages := []string{unify.Consumer, segment.Consumer, message.Consumer, journey.Consumer, commerce.Consumer, measure.Consumer}
	cpu0 := cpuTime()
	postBatches(b, h, tpl, size)
	for {
		last, err := h.st.LastSeq(ctx)
		if err != nil {
			b.Fatal(err)
		}
		behind := false
		for _, s := range stages {
			if cp, err := h.st.Checkpoint(ctx, s); err != nil || cp < last {
				behind = true
			}
		}
		if !behind {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	events := float64(b.N * size)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/events, "cpu-µs/event")
}

// BenchmarkCatchUp measures an event's cost through every stage with the
// log's tail on (the default) and off (every stage reads and decodes the
// log itself).
func BenchmarkCatchUp(b *testing.B) {
	b.Run("tail=on", func(b *testing.B) { benchmarkCatchUp(b, 0) })
	b.Run("tail=off", func(b *testing.B) { benchmarkCatchUp(b, -1) })
}
