package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
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
func benchmarkCatchUp(b *testing.B, tail int) { benchmarkCatchUpSized(b, tail, 100) }

// benchmarkCatchUpSized is benchmarkCatchUp with size events a request.
func benchmarkCatchUpSized(b *testing.B, tail, size int) {
	h := newHarness(b, func(o *server.Options) { o.LogTail = tail })
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

// BenchmarkCatchUpSmall is BenchmarkCatchUp with one event a request, as
// /v1/track sends them: the group commits are small, and each wakes every
// stage, so what a stage costs per wake-up (not per event) shows.
func BenchmarkCatchUpSmall(b *testing.B) { benchmarkCatchUpSized(b, 0, 1) }

// BenchmarkCatchUpCommits posts one request of 10 events at a time and
// waits until the stage at the end of the chain (journeys, behind
// segments and consent, behind unify) has handled it before the next:
// those stages wake once per commit, whatever the machine's load, so the
// CPU per event is that of a small commit through the pipeline
// (/v1/track's regime) and does not depend on how the load groups the
// commits. Commerce and measure, which save their checkpoints every half
// second and every second, are not waited for.
func BenchmarkCatchUpCommits(b *testing.B) {
	h := newHarness(b)
	const size = 10
	tpl := bench.NewTemplate("batch", size, 600, "c")
	ctx := context.Background()
	auth := basic(h.src.WriteKey + ":")
	client := &http.Client{}
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		req, _ := http.NewRequest("POST", h.http.URL+"/v1/batch", bytes.NewReader(tpl.Render(int64(i+1))))
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
		last, err := h.st.LastSeq(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range []string{journey.Consumer} {
			for {
				cp, err := h.st.Checkpoint(ctx, s)
				if err != nil {
					b.Fatal(err)
				}
				if cp >= last {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	b.StopTimer()
	events := float64(b.N * size)
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/events, "cpu-µs/event")
}
