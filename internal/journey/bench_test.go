package journey_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/store"
)

const benchJourney = `
kind: journey
id: bench
name: Bench
triggers: [{event: Product Added}]
steps:
  - wait: {for: 1h}
  - send: {channel: email, template: offer}
`

// waiting inserts n enrolments of the bench journey waiting at its first
// step (as a Tick leaves them), due at due.
func waiting(b *testing.B, w *world, n int, due time.Time) {
	b.Helper()
	var batch []*store.Enrolment
	for i := range n {
		batch = append(batch, &store.Enrolment{Journey: "bench", Version: 1, Profile: int64(i + 1), Status: "active",
			Step: "steps[0]", State: []byte(`{"waiting":true}`), DueAt: due, EnteredAt: t0, UpdatedAt: t0})
		if len(batch) == 5000 || i == n-1 {
			if err := w.st.ApplyJourneys(context.Background(), &store.JourneyBatch{Insert: batch, At: t0}); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// BenchmarkDueTimers fires 10,000 due timers per iteration: each ends a
// wait, hands a message to the sender and completes the enrolment,
// claimed and written back in batches of 1,000 (SQLite, recording
// sender).
func BenchmarkDueTimers(b *testing.B) {
	const n = 10_000
	w := newWorld(b)
	w.apply(benchJourney)
	ctx := context.Background()
	var fired int
	var elapsed time.Duration
	for i := range b.N {
		b.StopTimer()
		w.clk.Set(t0.Add(time.Duration(i) * 48 * time.Hour))
		waiting(b, w, n, w.clk.Now())
		w.clk.Advance(time.Second)
		b.StartTimer()
		start := time.Now()
		got, err := w.eng.Tick(ctx)
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		fired += got
	}
	if fired != n*b.N {
		b.Fatalf("fired %d, want %d", fired, n*b.N)
	}
	b.ReportMetric(float64(fired)/elapsed.Seconds(), "timers/s")
}

// BenchmarkMillionWaiting puts 1,000,000 customers in a wait (in a
// temporary SQLite store) and reports the process's resident memory
// while they wait — after a fresh engine loads and ticks with nothing due
// — and the idle tick's time. PARCOURS_BENCH_WAITING overrides the count.
func BenchmarkMillionWaiting(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("PARCOURS_BENCH_WAITING")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		w := newWorld(b)
		w.apply(benchJourney)
		waiting(b, w, n, t0.Add(time.Hour))
		runtime.GC()
		debug.FreeOSMemory()
		eng := journey.New(w.st, journey.Options{Clock: w.clk})
		if err := eng.Load(context.Background()); err != nil {
			b.Fatal(err)
		}
		var idle time.Duration
		for range 10 {
			start := time.Now()
			if got, err := eng.Tick(context.Background()); err != nil || got != 0 {
				b.Fatalf("tick: %d, %v", got, err)
			}
			idle += time.Since(start)
		}
		counts, err := w.st.EnrolmentCounts(context.Background(), "bench")
		if err != nil || counts["active"] != int64(n) {
			b.Fatalf("waiting: %v, %v", counts, err)
		}
		rss, peak := procStatus(b, "VmRSS:"), procStatus(b, "VmHWM:")
		b.ReportMetric(float64(rss)/(1<<20), "RSS-MiB")
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(idle.Microseconds())/10, "idle-tick-us")
	}
}

// procStatus reads a size line (in kB) of /proc/self/status, in bytes.
func procStatus(b *testing.B, key string) int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("%s %q: %v", key, rest, err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no %s in /proc/self/status", key)
	return 0
}

// BenchmarkWaitingEnrolments puts 100,000 customers in a wait and
// reports what each costs: on disk (SQLite file and WAL) and in the
// engine's heap (nothing is kept in memory per waiting enrolment; a tick
// with nothing due reads only the due index).
func BenchmarkWaitingEnrolments(b *testing.B) {
	const n = 100_000
	for range b.N {
		w := newWorld(b)
		w.apply(benchJourney)
		dir := filepath.Dir(w.st.Path())
		before := dirSize(b, dir)
		waiting(b, w, n, t0.Add(time.Hour))
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		eng := journey.New(w.st, journey.Options{Clock: w.clk})
		if err := eng.Load(context.Background()); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if got, err := eng.Tick(context.Background()); err != nil || got != 0 {
			b.Fatalf("tick: %d, %v", got, err)
		}
		idle := time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(dirSize(b, dir)-before)/n, "disk-B/enrolment")
		b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc))/n, "heap-B/enrolment")
		b.ReportMetric(float64(idle.Microseconds()), "idle-tick-us")
	}
}

func dirSize(b *testing.B, dir string) int64 {
	var total int64
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			total += info.Size()
		}
	}
	return total
}
