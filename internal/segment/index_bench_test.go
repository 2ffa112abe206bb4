package segment

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// threeConditions is the segment of the target: a three-condition
// behavioural segment.
const threeConditions = `
kind: segment
id: shoe-browsers
name: Viewed shoes twice this month, added to cart, no order
where:
  all:
    - performed: {event: Product Viewed, where: {category: shoes}, within: 30d, count: {gte: 2}}
    - performed: {event: Product Added, within: 30d}
    - not: {performed: {event: Order Completed, within: 30d}}
`

// benchEvents writes n events of p profiles over the last year into x,
// as a shop's traffic: 60 % product views, 15 % adds to cart, 10 %
// checkouts, 5 % orders, 10 % other events.
func benchEvents(x *Index, profiles, n int, now time.Time) {
	r := rand.New(rand.NewPCG(1, 2))
	cats := []string{"shoes", "bags", "coats", "dresses", "shirts", "jeans", "socks", "hats", "belts", "scarves", "gloves", "watches"}
	const batch = 10_000
	events := make([]*event.Event, 0, batch)
	owners := make([]int64, 0, batch)
	for i := range n {
		e := &event.Event{Seq: int64(i + 1), Type: event.Track, Channel: "web",
			Timestamp: now.Add(-time.Duration(r.Int64N(int64(365 * 24 * time.Hour))))}
		sku := r.IntN(20_000)
		switch k := r.IntN(100); {
		case k < 60:
			e.Event = "Product Viewed"
			e.Properties = fmt.Appendf(nil, `{"sku":"SKU-%05d","category":"%s","price":%d.99,"brand":"brand-%d"}`, sku, cats[sku%len(cats)], 5+sku%300, sku%50)
		case k < 75:
			e.Event = "Product Added"
			e.Properties = fmt.Appendf(nil, `{"sku":"SKU-%05d","category":"%s","price":%d.99,"quantity":%d}`, sku, cats[sku%len(cats)], 5+sku%300, 1+r.IntN(3))
		case k < 85:
			e.Event = "Checkout Started"
			e.Properties = fmt.Appendf(nil, `{"cart_id":"c%d","value":%d}`, r.IntN(100_000), r.IntN(1000))
		case k < 90:
			e.Event = "Order Completed"
			e.Properties = fmt.Appendf(nil, `{"order_id":"o%d","total":%d.%02d,"currency":"EUR"}`, i, 5+r.IntN(500), r.IntN(100))
		default:
			e.Event = []string{"Signed Up", "Wishlist Added", "Store Visited", "Coupon Applied"}[r.IntN(4)]
			e.Properties = fmt.Appendf(nil, `{"store_id":"st-%d"}`, r.IntN(300))
		}
		events = append(events, e)
		owners = append(owners, 1+r.Int64N(int64(profiles)))
		if len(events) == batch || i == n-1 {
			x.add(events, owners, nil)
			events, owners = events[:0], owners[:0]
		}
	}
	// Every profile is seen (some have no track event).
	x.mu.Lock()
	for id := 1; id <= profiles; id++ {
		x.see(uint32(id))
	}
	x.mu.Unlock()
}

// BenchmarkIndexPreview measures the preview of a three-condition
// behavioural segment through Stage.Preview on the embedded store, read
// from the behaviour index, over PARCOURS_BENCH_PROFILES profiles
// (default 100,000) and PARCOURS_BENCH_EVENTS events (default 2,000,000):
// the target is 1,000,000 and 20,000,000 under 5 s. It also
// reports the index's heap, its file size and the time to load it.
func BenchmarkIndexPreview(b *testing.B) {
	profiles, events := envInt("PARCOURS_BENCH_PROFILES", 100_000), envInt("PARCOURS_BENCH_EVENTS", 2_000_000)
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(dir, "behaviour.idx")
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	built := time.Now()
	{
		x, err := OpenIndex(path)
		if err != nil {
			b.Fatal(err)
		}
		benchEvents(x, profiles, events, now)
		b.Logf("indexed %d events of %d profiles in %s (%.0f events/s)", events, profiles, time.Since(built).Round(time.Millisecond), float64(events)/time.Since(built).Seconds())
		w := time.Now()
		if err := x.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("written in %s", time.Since(w).Round(time.Millisecond))
	}
	runtime.GC()
	loaded := time.Now()
	x, err := OpenIndex(path)
	if err != nil {
		b.Fatal(err)
	}
	loadTook := time.Since(loaded)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fi, _ := os.Stat(path)
	x.ready = true
	s := NewStage(st, Options{Clock: clock.NewFake(now), Index: x})
	if err := s.Load(ctx); err != nil {
		b.Fatal(err)
	}
	defs, err := ParseYAML("bench", strings.NewReader(threeConditions))
	if err != nil {
		b.Fatal(err)
	}
	var pv *Preview
	b.ResetTimer()
	for b.Loop() {
		if pv, err = s.Preview(ctx, defs[0], 10, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if pv.Via != "index" {
		b.Fatalf("preview read the %s", pv.Via)
	}
	b.ReportMetric(float64(pv.Size), "members")
	b.ReportMetric(float64(pv.Profiles), "profiles")
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
	b.ReportMetric(loadTook.Seconds(), "load-s")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/preview")
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
