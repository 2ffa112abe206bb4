package measure_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/segment"
)

// funnelFixture: eight customers on 3 February 2025 (UTC), for the
// checkout funnel shoe view -> add -> checkout -> order within a day.
//
//	u1  web: view 10:00, add 10:05, coupon 10:07, checkout 10:10, order 10:20
//	u2  ios: view 09:00, add 09:10; web: checkout 12:00, then a view 12:30
//	u3  web: view 08:00, add 08:10; then an order at a till 15:00
//	u4  web: view 07:00, nothing else
//	u5  web: a view of bags only
//	u6  web: view 10:00, add two days later (outside the window)
//	u7  an anonymous web view 10:00, logs in, ios add 10:30, opens an email 11:00
//	u8  web: add 08:00, view 08:30, checkout 09:00, order 09:05
func funnelFixture(h *harness) {
	day := "2025-02-03T"
	tr := func(user, name, at, channel string, props map[string]any) ev {
		return ev{user: user, name: name, at: day + at + ":00Z", channel: channel, props: props}
	}
	shoes := map[string]any{"category": "shoes"}
	h.send(
		tr("u1", "Product Viewed", "10:00", "web", shoes), tr("u1", "Product Added", "10:05", "web", nil),
		tr("u1", "Coupon Applied", "10:07", "web", nil), tr("u1", "Checkout Started", "10:10", "web", nil),
		tr("u1", "Order Completed", "10:20", "web", map[string]any{"order_id": "f1", "revenue": 10}),
		tr("u2", "Product Viewed", "09:00", "ios", shoes), tr("u2", "Product Added", "09:10", "ios", nil),
		tr("u2", "Checkout Started", "12:00", "web", nil), tr("u2", "Product Viewed", "12:30", "web", map[string]any{"category": "bags"}),
		tr("u3", "Product Viewed", "08:00", "web", shoes), tr("u3", "Product Added", "08:10", "web", nil),
		tr("u3", "Order Completed", "15:00", "pos", map[string]any{"order_id": "f3", "revenue": 10}),
		tr("u4", "Product Viewed", "07:00", "web", shoes),
		tr("u5", "Product Viewed", "07:00", "web", map[string]any{"category": "bags"}),
		tr("u6", "Product Viewed", "10:00", "web", shoes),
		ev{user: "u6", name: "Product Added", at: "2025-02-05T10:00:00Z", channel: "web"},
		ev{anon: "a7", name: "Product Viewed", at: day + "10:00:00Z", channel: "web", props: shoes},
		ev{user: "u7", anon: "a7", typ: event.Identify, at: day + "10:20:00Z", channel: "web"},
		tr("u7", "Product Added", "10:30", "ios", nil), tr("u7", "Email Opened", "11:00", "email", nil),
		tr("u8", "Product Added", "08:00", "web", nil), tr("u8", "Product Viewed", "08:30", "web", shoes),
		tr("u8", "Checkout Started", "09:00", "web", nil),
		tr("u8", "Order Completed", "09:05", "web", map[string]any{"order_id": "f8", "revenue": 10}),
	)
	h.catchUp(7)
}

func checkoutFunnel(order string) measure.FunnelQuery {
	return measure.FunnelQuery{From: "2025-02-03", To: "2025-02-03", Window: segment.Duration(24 * 3600e9), Order: order,
		Steps: []measure.FunnelStep{{Event: "Product Viewed", Where: map[string]any{"category": "shoes"}, Name: "Viewed shoes"},
			{Event: "Product Added"}, {Event: "Checkout Started"}, {Event: "Order Completed"}}}
}

func stepCounts(r *measure.FunnelReport) []int64 {
	var out []int64
	for _, s := range r.Steps {
		out = append(out, s.Customers)
	}
	return out
}

func TestFunnelHandComputed(t *testing.T) {
	h := newHarness(t, "UTC")
	funnelFixture(h)
	r, err := h.eng.Funnel(h.ctx, checkoutFunnel(""))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(stepCounts(r)); got != "[7 4 2 1]" {
		t.Fatalf("steps %s, want [7 4 2 1]", got)
	}
	if !near(r.Conversion, 1.0/7) || !near(r.Steps[1].FromPrevious, 4.0/7) || r.Steps[1].Dropped != 3 || r.Order != "sequence" || r.Window != "1d" {
		t.Errorf("conversion %v, step 2 from previous %v, dropped %d, %s %s", show(r.Conversion), show(r.Steps[1].FromPrevious), r.Steps[1].Dropped, r.Order, r.Window)
	}
	// Medians from the previous step: adds 5m, 10m, 10m, 30m; checkouts
	// 5m and 2h50m; the order 10m.
	for i, want := range []float64{0, 600, 5250, 600} {
		if i > 0 && !near(r.Steps[i].MedianSeconds, want) {
			t.Errorf("step %d median %v, want %v", i+1, show(r.Steps[i].MedianSeconds), want)
		}
	}
	if got := fmt.Sprint(r.Steps[0].Channels, r.Steps[1].Channels); got != "[{web 6} {ios 1}] [{ios 2} {web 2}]" {
		t.Errorf("channels: %s", got)
	}
	fr := map[int]measure.Friction{}
	for _, f := range r.Friction {
		fr[f.After] = f
	}
	// After the view: u4 and u6 did nothing (u6's add is past the
	// window); u8 went on on the web (its checkout) and ordered there.
	if f := fr[1]; f.Dropped != 3 || fmt.Sprint(f.Then) != "[{nothing  2} {same_channel web 1}]" || fmt.Sprint(f.Ordered) != "[{web 1}]" {
		t.Errorf("after step 1: %+v", f)
	}
	// After the add: u3 bought at a till, u7 opened an email.
	if f := fr[2]; f.Dropped != 2 || fmt.Sprint(f.Then) != "[{other_channel email 1} {store_visit pos 1}]" || fmt.Sprint(f.Ordered) != "[{pos 1}]" ||
		fmt.Sprint(f.TopNext) != "[{Email Opened email 1} {Order Completed pos 1}]" {
		t.Errorf("after step 2: %+v", f)
	}
	// After the checkout: u2 viewed another product on the web.
	if f := fr[3]; f.Dropped != 1 || fmt.Sprint(f.Then) != "[{same_channel web 1}]" || len(f.Ordered) != 0 {
		t.Errorf("after step 3: %+v", f)
	}
	var csv strings.Builder
	if err := measure.WriteFunnelCSV(&csv, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv.String(), "\nstep,2,Product Added,4,0.5714285714285714,0.5714285714285714,600,,\n") ||
		!strings.Contains(csv.String(), "\ndropped,2,Product Added,1,,,,ordered_anyway,pos\n") {
		t.Errorf("csv:\n%s", csv.String())
	}
	if r.Friction[0].Dropped != 3 {
		t.Errorf("the worst drop comes first: %+v", r.Friction[0])
	}
}

func TestFunnelOrders(t *testing.T) {
	h := newHarness(t, "UTC")
	funnelFixture(h)
	for order, want := range map[string]string{
		"strict": "[7 4 1 0]", // u1's coupon breaks its chain after the add
		"any":    "[7 5 3 2]", // u8 added before viewing
	} {
		r, err := h.eng.Funnel(h.ctx, checkoutFunnel(order))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(stepCounts(r)); got != want {
			t.Errorf("%s: steps %s, want %s", order, got, want)
		}
	}
	// A step on a channel: checkouts on the app only.
	q := checkoutFunnel("")
	q.Steps[2].Channel = "app"
	r, err := h.eng.Funnel(h.ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(stepCounts(r)); got != "[7 4 0 0]" {
		t.Errorf("app checkouts: %s", got)
	}
	for _, bad := range []measure.FunnelQuery{
		{Steps: []measure.FunnelStep{{Event: "a"}}},
		{Steps: []measure.FunnelStep{{Event: "a"}, {Event: ""}}},
		{Steps: []measure.FunnelStep{{Event: "a"}, {Event: "b"}}, Order: "random"},
		{Steps: []measure.FunnelStep{{Event: "a"}, {Event: "b", Channel: "fax"}}},
	} {
		if _, err := h.eng.Funnel(h.ctx, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestFunnelChunks computes the funnel with a few occurrences at a time:
// the same answer.
func TestFunnelChunks(t *testing.T) {
	h := newHarness(t, "UTC")
	funnelFixture(h)
	defer measure.SetChunkOccurrences(3)()
	for order, want := range map[string]string{"sequence": "[7 4 2 1]", "strict": "[7 4 1 0]", "any": "[7 5 3 2]"} {
		r, err := h.eng.Funnel(h.ctx, checkoutFunnel(order))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(stepCounts(r)); got != want {
			t.Errorf("%s in chunks: %s, want %s", order, got, want)
		}
	}
}
