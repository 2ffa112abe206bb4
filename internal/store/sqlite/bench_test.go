package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store/storetest"
)

// cpuTime is the CPU (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppend measures the store alone: commits of 1,000 events of
// about 600 bytes, as the group committer makes them under load, and of
// 100 (one batch request, as it makes them at 8 requests in flight).
// CPU time per event is steadier than wall time on a shared machine (the
// commit's fsync is wall time, not CPU).
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{1000, 100} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) { benchmarkAppend(b, size) })
	}
}

func benchmarkAppend(b *testing.B, size int) {
	s := open(b)

	ctx := context.Background()
	props := json.RawMessage(`{"product_id":"SKU-00042","sku":"SHOE-RUN-42","category":"shoes","name":"Trail runner","brand":"Parcours","price":89.9,"currency":"EUR","url":"https://shop.example/p/trail-runner"}`)
	ctxJSON := json.RawMessage(`{"library":{"name":"bench","version":"1.0"},"page":{"path":"/p/trail-runner","referrer":"https://instagram.com/"},"userAgent":"Mozilla/5.0 (X11; Linux x86_64)","locale":"fr-FR","ip":"192.0.2.1"}`)
	now := time.Now()
	var cpu time.Duration
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		batch := make([]*event.Event, size)
		for i := range batch {
			e := storetest.Event("src_bench", fmt.Sprintf("m-%d-%d", n, i), fmt.Sprintf("user-%d", i%5000), now)
			e.AnonymousID = fmt.Sprintf("anon-%d", i%7000)
			e.Properties, e.Context = props, ctxJSON
			batch[i] = e
		}
		c0 := cpuTime()
		b.StartTimer()
		if err := s.Append(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime() - c0
	}
	events := float64(b.N * size)
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/events, "cpu-µs/event")
}
