package measure_test

import (
	"math"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/store"
)

// fixture is the small fixed dataset every hand-computed answer below is
// about, in Europe/Paris (UTC+1 in January). The range is 8-14 January
// 2025, the previous range 1-7 January.
//
//	alice  web visit 2 Jan, order o1 web 100 (2 Jan); visit 8 Jan (23:30
//	       UTC on the 7th), order o3 in store st-1 80 (9 Jan), reported
//	       twice (the till's, earlier, counts); refund 20 on o1 (12 Jan,
//	       in store); survey 10, CSAT 5 (13 Jan)
//	bob    ios visits 3 and 9 Jan; an anonymous web visit 10 Jan, then
//	       logs in (merge); order o4 web click & collect 40 (11 Jan);
//	       survey 3
//	erin   order o9 web 20 (6 Jan), order o10 web 15 (10 Jan), then o9
//	       is cancelled: her first order is o10
//	carol  order o2 in store 50 (5 Jan); order o5 web 30 (13 Jan),
//	       cancelled; survey 7, CSAT 2; a late order o7 web 10 (6 Jan)
//	dan    email delivered 8 Jan; visit 12 Jan (23:30 UTC on the 11th);
//	       late: order o6 web 60 (14 Jan), order o8 web 25 (4 Jan)
//	email  newsletter nl-1 delivered to alice and dan, opened and clicked
//	       by alice (8 Jan)
func fixture() [][]ev {
	order := func(user, id, at, channel, store string, revenue float64, extra map[string]any) ev {
		p := map[string]any{"order_id": id, "revenue": revenue, "currency": "EUR"}
		if store != "" {
			p["store_id"] = store
		}
		for k, v := range extra {
			p[k] = v
		}
		return ev{user: user, name: "Order Completed", at: at, channel: channel, props: p}
	}
	page := func(user, anon, at, channel string) ev {
		return ev{user: user, anon: anon, typ: event.Page, name: "Home", at: at, channel: channel}
	}
	email := func(user, name, at string) ev {
		return ev{user: user, name: name, at: at, channel: "email", props: map[string]any{"campaign_id": "nl-1"}}
	}
	return [][]ev{{
		page("alice", "", "2025-01-02T09:00:00Z", "web"),
		order("alice", "o1", "2025-01-02T09:30:00Z", "web", "", 100, nil),
		ev{user: "bob", typ: event.Screen, name: "Home", at: "2025-01-03T08:00:00Z", channel: "ios"},
		order("carol", "o2", "2025-01-05T15:00:00Z", "pos", "st-1", 50, nil),
		order("erin", "o9", "2025-01-06T10:00:00Z", "web", "", 20, nil),
		page("alice", "", "2025-01-07T23:30:00Z", "web"),
		email("alice", "Email Delivered", "2025-01-08T09:00:00Z"),
		email("dan", "Email Delivered", "2025-01-08T09:00:00Z"),
		email("alice", "Email Opened", "2025-01-08T09:10:00Z"),
		email("alice", "Email Link Clicked", "2025-01-08T09:11:00Z"),
		// Counted before the login that merges it into bob's profile.
		page("", "anon-1", "2025-01-10T11:00:00Z", "web"),
	}, {
		// o3 twice: the later report (commerce) arrives first.
		order("alice", "o3", "2025-01-09T11:00:00Z", "store", "st-1", 80, nil),
		order("alice", "o3", "2025-01-09T10:00:00Z", "pos", "st-1", 80, nil),
		ev{user: "bob", typ: event.Screen, name: "Home", at: "2025-01-09T08:00:00Z", channel: "ios"},
		order("erin", "o10", "2025-01-10T10:00:00Z", "web", "", 15, nil),
		{user: "bob", anon: "anon-1", typ: event.Identify, at: "2025-01-10T11:05:00Z", channel: "web"},
		order("bob", "o4", "2025-01-11T10:00:00Z", "web", "st-1", 40, map[string]any{"fulfillment": "click_and_collect"}),
		page("dan", "", "2025-01-11T23:30:00Z", "web"),
		{user: "alice", name: "Order Refunded", at: "2025-01-12T10:00:00Z", channel: "pos", store: "st-1",
			props: map[string]any{"order_id": "o1", "total": 20}},
	}, {
		{user: "erin", name: "Order Cancelled", at: "2025-01-12T09:30:00Z", channel: "web", props: map[string]any{"order_id": "o9"}},
		order("carol", "o5", "2025-01-13T09:00:00Z", "web", "", 30, nil),
		{user: "carol", name: "Order Cancelled", at: "2025-01-13T09:30:00Z", channel: "web", props: map[string]any{"order_id": "o5"}},
		{user: "alice", name: "Survey Completed", at: "2025-01-13T10:00:00Z", channel: "web", props: map[string]any{"survey_type": "nps", "score": 10}},
		{user: "carol", name: "Survey Completed", at: "2025-01-13T10:00:00Z", channel: "web", props: map[string]any{"score": 7}},
		{user: "bob", name: "Survey Completed", at: "2025-01-13T10:00:00Z", channel: "web", props: map[string]any{"survey_type": "nps", "score": 3}},
		{user: "alice", name: "Call Center Contacted", at: "2025-01-13T11:00:00Z", channel: "call_center", props: map[string]any{"csat": 5}},
		{user: "carol", name: "Call Center Contacted", at: "2025-01-13T11:00:00Z", channel: "call_center", props: map[string]any{"csat": 2}},
	}, {
		// Late: events of days already counted.
		order("dan", "o6", "2025-01-14T18:00:00Z", "web", "", 60, nil),
		order("dan", "o8", "2025-01-04T18:00:00Z", "web", "", 25, nil),
		order("carol", "o7", "2025-01-06T18:00:00Z", "web", "", 10, nil),
	}}
}

func sendFixture(h *harness) {
	for _, part := range fixture() {
		h.send(part...)
		h.catchUp(4)
	}
}

func near(got *float64, want float64) bool {
	return got != nil && math.Abs(*got-want) < 1e-9
}

func TestKPIsHandComputed(t *testing.T) {
	h := newHarness(t, "Europe/Paris")
	sendFixture(h)
	all := []string{"orders", "revenue", "aov", "refunds", "net_revenue", "visitors", "new_visitors", "buyers", "conversion_rate",
		"channel_conversion_rate", "omnichannel_buyers", "omnichannel_share", "new_customers", "repeat_rate", "retention_rate",
		"clv", "nps", "csat", "messages_delivered", "messages_opened", "messages_clicked", "message_reach", "open_rate", "click_rate"}
	r := h.kpis(measure.KPIQuery{From: "2025-01-08", To: "2025-01-14", KPIs: all})
	if r.Previous.From != "2025-01-01" || r.Previous.To != "2025-01-07" || r.Interval != "day" || r.TimeZone != "Europe/Paris" {
		t.Fatalf("range: %+v previous %+v interval %s zone %s", r.Range, r.Previous, r.Interval, r.TimeZone)
	}
	for _, c := range []struct {
		id        string
		cur, prev float64
	}{
		{"orders", 4, 4},
		{"revenue", 195, 185},
		{"aov", 48.75, 46.25},
		{"refunds", 20, 0},
		{"net_revenue", 175, 185},
		{"visitors", 5, 5},
		{"new_visitors", 0, 5},
		{"buyers", 4, 3},
		{"conversion_rate", 0.8, 0.6},
		{"omnichannel_buyers", 2, 1}, // alice (web, then store), bob (ios, then web); before: carol (store and web)
		{"new_customers", 2, 3},      // bob, erin (o9 cancelled); alice, carol, dan (late o8)
		{"repeat_rate", 0.5, 0},
		{"retention_rate", 2.0 / 3, math.NaN()},
		{"clv", 360.0 / 5, 185.0 / 3},
		{"nps", 0, math.NaN()},
		{"csat", 50, math.NaN()},
		{"messages_delivered", 2, 0},
		{"messages_opened", 1, 0},
		{"messages_clicked", 1, 0},
		{"message_reach", 2, 0},
		{"open_rate", 0.5, math.NaN()},
		{"click_rate", 0.5, math.NaN()},
	} {
		k := kpi(t, r, c.id)
		if !near(k.Value, c.cur) {
			t.Errorf("%s = %v, want %v", c.id, show(k.Value), c.cur)
		}
		if math.IsNaN(c.prev) {
			if k.Previous != nil {
				t.Errorf("%s previous = %v, want null (no denominator)", c.id, *k.Previous)
			}
		} else if !near(k.Previous, c.prev) {
			t.Errorf("%s previous = %v, want %v", c.id, show(k.Previous), c.prev)
		}
	}
	if ch := kpi(t, r, "revenue").Change; !near(ch, (195.0-185)/185) {
		t.Errorf("revenue change = %v", show(ch))
	}
	// Visitors by day, in Paris: the 23:30 UTC visits are the next day's.
	want := map[string]float64{"2025-01-08": 1, "2025-01-09": 2, "2025-01-10": 2, "2025-01-11": 1, "2025-01-12": 3, "2025-01-13": 3, "2025-01-14": 1}
	for _, p := range kpi(t, r, "visitors").Series {
		if !near(p.V, want[p.T]) {
			t.Errorf("visitors on %s = %v, want %v", p.T, show(p.V), want[p.T])
		}
	}
}

func TestKPIBreakdowns(t *testing.T) {
	h := newHarness(t, "Europe/Paris")
	sendFixture(h)
	r := h.kpis(measure.KPIQuery{From: "2025-01-08", To: "2025-01-14", KPIs: []string{"orders", "revenue", "conversion_rate", "clv"}, Breakdown: "channel"})
	rows := map[string]measure.BreakdownRow{}
	for _, b := range kpi(t, r, "revenue").Breakdown {
		rows[b.Value] = b
	}
	// o3 counts once, on the till's channel (its earliest report).
	if !near(rows["pos"].Current, 80) || !near(rows["web"].Current, 115) || rows["store"].Current != nil && *rows["store"].Current != 0 {
		t.Errorf("revenue by channel: %+v", kpi(t, r, "revenue").Breakdown)
	}
	conv := map[string]*float64{}
	for _, b := range kpi(t, r, "conversion_rate").Breakdown {
		conv[b.Value] = b.Current
	}
	// Web visitors (alice, bob, carol, dan, erin) who bought anywhere:
	// alice (in store), bob, dan, erin. Store visitors (alice's till
	// order, her refund): alice, who bought.
	if !near(conv["web"], 0.8) || !near(conv["pos"], 1) {
		t.Errorf("conversion by channel: web %v pos %v", show(conv["web"]), show(conv["pos"]))
	}
	if k := kpi(t, r, "clv"); k.Breakdown != nil || k.Note == "" {
		t.Errorf("clv has no breakdown and says so: %+v", k)
	}
	f := h.kpis(measure.KPIQuery{From: "2025-01-08", To: "2025-01-14", KPIs: []string{"orders"}, Breakdown: "fulfillment"})
	got := map[string]float64{}
	for _, b := range kpi(t, f, "orders").Breakdown {
		got[b.Value] = *b.Current
	}
	if got["in_store"] != 1 || got["click_and_collect"] != 1 || got["online"] != 2 {
		t.Errorf("orders by fulfillment: %v", got)
	}
}

func show(v *float64) any {
	if v == nil {
		return "null"
	}
	return *v
}

// TestKPIBreakdownBySegmentAndJourney: alice and dan are in segment vip;
// both ordered within a week of newsletter nl-1 (alice clicked it).
func TestKPIBreakdownBySegmentAndJourney(t *testing.T) {
	h := newHarness(t, "Europe/Paris")
	sendFixture(h)
	at := time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC)
	if err := h.st.SaveSegment(h.ctx, &store.SegmentRecord{ID: "vip", Definition: []byte(`{}`), Status: "live", CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	var changes []store.SegmentChange
	for _, u := range []string{"alice", "dan"} {
		changes = append(changes, store.SegmentChange{Segment: "vip", Profile: h.profileOf(u), Entered: true, At: at, Reason: "test"})
	}
	if err := h.st.ApplySegments(h.ctx, &store.SegmentBatch{Changes: changes, At: at}); err != nil {
		t.Fatal(err)
	}
	row := func(r *measure.KPIReport, id, value string) *float64 {
		for _, b := range kpi(t, r, id).Breakdown {
			if b.Value == value {
				return b.Current
			}
		}
		return nil
	}
	q := measure.KPIQuery{From: "2025-01-08", To: "2025-01-14", KPIs: []string{"orders", "revenue", "visitors", "conversion_rate", "nps"}, Breakdown: "segment"}
	r := h.kpis(q)
	if !near(row(r, "orders", "vip"), 2) || !near(row(r, "revenue", "vip"), 140) || !near(row(r, "visitors", "vip"), 2) ||
		!near(row(r, "conversion_rate", "vip"), 1) || kpi(t, r, "nps").Note == "" {
		t.Errorf("by segment: orders %v revenue %v visitors %v conversion %v", show(row(r, "orders", "vip")), show(row(r, "revenue", "vip")),
			show(row(r, "visitors", "vip")), show(row(r, "conversion_rate", "vip")))
	}
	q.Breakdown, q.KPIs = "journey", []string{"orders", "revenue", "messages_delivered", "message_reach"}
	r = h.kpis(q)
	if !near(row(r, "orders", "nl-1"), 2) || !near(row(r, "revenue", "nl-1"), 140) || !near(row(r, "messages_delivered", "nl-1"), 2) ||
		!near(row(r, "message_reach", "nl-1"), 2) {
		t.Errorf("by journey: %+v", r.KPIs)
	}
}

// TestKPIsSeeNewEvents asks twice for the same range: the second answer
// counts a visitor who came in between (reports keep unions of past days,
// not stale ones).
func TestKPIsSeeNewEvents(t *testing.T) {
	h := newHarness(t, "Europe/Paris")
	sendFixture(h)
	q := measure.KPIQuery{From: "2025-01-08", To: "2025-01-14", KPIs: []string{"visitors"}, Breakdown: "channel"}
	if v := kpi(t, h.kpis(q), "visitors").Value; !near(v, 5) {
		t.Fatalf("visitors %v", show(v))
	}
	h.send(ev{user: "fay", typ: event.Page, name: "Home", at: "2025-01-10T10:00:00Z", channel: "web"})
	h.catchUp(10)
	r := h.kpis(q)
	if v := kpi(t, r, "visitors").Value; !near(v, 6) {
		t.Errorf("visitors after a new one: %v", show(v))
	}
	for _, b := range kpi(t, r, "visitors").Breakdown {
		if b.Value == "web" && !near(b.Current, 6) {
			t.Errorf("web visitors: %v", show(b.Current))
		}
	}
}
