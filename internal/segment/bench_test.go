package segment_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/segment"
)

// hundredSegments are 100 live segments of every kind, as a brand would
// run them: behaviour on a few event names, traits, computed traits,
// context, geography, consent, and segments of segments.
func hundredSegments() string {
	var b strings.Builder
	events := []string{"Product Viewed", "Product Added", "Order Completed", "Checkout Started", "Page Viewed"}
	cats := []string{"shoes", "bags", "coats", "dresses", "shirts"}
	for i := range 100 {
		fmt.Fprintf(&b, "---\nkind: segment\nid: s%02d\nname: segment %d\nwhere:\n", i, i)
		switch i % 10 {
		case 0, 1, 2:
			fmt.Fprintf(&b, "  all:\n    - performed: {event: %s, where: {category: %s}, within: %dd, count: {gte: %d}}\n    - not: {performed: {event: Order Completed, within: 30d}}\n    - trait: gender\n      equals: female\n",
				events[i%5], cats[i%5], 1+i%14, 1+i%3)
		case 3:
			fmt.Fprintf(&b, "  performed: {event: Order Completed, within: %dd, sum: {property: total, gte: %d}}\n", 30+i, 100+i)
		case 4:
			fmt.Fprintf(&b, "  all:\n    - computed: order_count\n      gte: %d\n    - computed: last_order_date\n      older_than: %dd\n", 1+i%3, 10+i)
		case 5:
			b.WriteString("  all:\n    - reachable: email\n    - trait: birthday\n      anniversary_within: 7d\n")
		case 6:
			b.WriteString("  any:\n    - device_type: ios\n    - last_channel: store\n    - near: {store: lyon-part-dieu, km: 5}\n")
		case 7:
			fmt.Fprintf(&b, "  all:\n    - trait: age\n      gte: %d\n      lt: %d\n    - consent: sms\n", 18+i%20, 30+i%20)
		case 8:
			fmt.Fprintf(&b, "  all:\n    - member: s%02d\n    - computed: lifetime_value\n      gte: %d\n", i-8, 50+i)
		case 9:
			fmt.Fprintf(&b, "  performed: {event: %s, within: 1d}\n", events[(i/10)%5])
		}
	}
	return b.String()
}

// BenchmarkRealtimeUpdate measures the segment stage's work for one event
// at a time (a batch of one: the worst case, each its own transaction)
// with 100 live segments, over 2,000 profiles with history. It reports the
// p50 and p99 per event.
func BenchmarkRealtimeUpdate(b *testing.B) {
	p := newPipeline(b)
	ctx := context.Background()
	defs, err := segment.ParseYAML("bench", strings.NewReader(hundredSegments()))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := p.seg.Save(ctx, defs, nil); err != nil {
		b.Fatal(err)
	}
	cats := []string{"shoes", "bags", "coats", "dresses", "shirts"}
	mk := func(i int) *event.Event {
		u := fmt.Sprintf("u%d", i%2000)
		switch i % 5 {
		case 0:
			return p.ev(fmt.Sprintf(`identify user=%s traits={"gender":"female","age":%d,"email":"%s@example.fr","emailOptIn":true,"birthday":"1990-11-2%d"}`, u, 20+i%30, u, i%9))
		case 1:
			return p.ev(fmt.Sprintf(`track user=%s event=Order_Completed props={"order_id":"o%d","total":%d}`, u, i, 20+i%300))
		default:
			return p.ev(fmt.Sprintf(`track user=%s event=Product_Viewed props={"category":"%s"} ctx={"device":{"type":"ios"}}`, u, cats[i%5]))
		}
	}
	// History: 10 events per profile, applied in batches.
	var hist []*event.Event
	for i := range 20_000 {
		hist = append(hist, mk(i))
	}
	if err := p.st.Append(ctx, hist, nil); err != nil {
		b.Fatal(err)
	}
	p.drain()
	b.ResetTimer()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		e := mk(20_000 + i)
		if err := p.st.Append(ctx, []*event.Event{e}, nil); err != nil {
			b.Fatal(err)
		}
		if err := p.unify.Process(ctx, []*event.Event{e}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := p.seg.Process(ctx, []*event.Event{e}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkEvaluate100 measures the evaluation alone: one event observed
// and 100 segments evaluated for a profile with 200 events of history, no
// storage.
func BenchmarkEvaluate100(b *testing.B) {
	defs, err := segment.ParseYAML("bench", strings.NewReader(hundredSegments()))
	if err != nil {
		b.Fatal(err)
	}
	set, err := segment.NewSet(defs)
	if err != nil {
		b.Fatal(err)
	}
	p := newPipeline(b)
	now := p.clk.Now()
	st := segment.NewState()
	for i := range 200 {
		e := p.ev(fmt.Sprintf(`track user=u event=Product_Viewed props={"category":"%s"}`, []string{"shoes", "bags"}[i%2]))
		e.Seq = int64(i + 1)
		e.Timestamp = now.Add(-time.Duration(i) * time.Hour)
		set.Observe(st, e, now)
	}
	pr := profileFixture()
	e := p.ev(`track user=u event=Product_Viewed props={"category":"shoes"}`)
	for i := 0; b.Loop(); i++ {
		e.Seq = int64(1000 + i)
		set.Observe(st, e, now)
		set.Evaluate(segment.Input{Profile: pr, State: st, Env: envFixture(now)})
	}
}
