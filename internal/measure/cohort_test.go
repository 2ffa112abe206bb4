package measure_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/measure"
)

// cohortFixture: customers by the month of their first order (UTC).
//
//	January   a1 5 Jan 100, 10 Feb 50, 3 Mar 20; a2 20 Jan 30, 15 Mar 40;
//	          a3 25 Jan 10 at the till of st-1, a web visit 8 Feb
//	February  b1 2 Feb 60, 20 Feb 10, 1 Mar 5; b2 14 Feb 25
//	March     c1 9 Mar 70
func cohortFixture(h *harness) {
	n := 0
	o := func(user, day string, revenue float64) ev {
		n++
		e := ev{user: user, name: "Order Completed", at: "2025-" + day + "T10:00:00Z", channel: "web",
			props: map[string]any{"order_id": fmt.Sprint("co", n), "revenue": revenue}}
		if user == "a3" {
			e.channel, e.store = "pos", "st-1"
		}
		return e
	}
	h.send(o("a1", "01-05", 100), o("a1", "02-10", 50), o("a1", "03-03", 20), o("a2", "01-20", 30), o("a2", "03-15", 40),
		o("a3", "01-25", 10), o("b1", "02-02", 60), o("b1", "02-20", 10), o("b1", "03-01", 5), o("b2", "02-14", 25), o("c1", "03-09", 70),
		ev{user: "a3", typ: event.Page, name: "Home", at: "2025-02-08T10:00:00Z", channel: "web"})
	h.catchUp(5)
}

// table writes a cohort report as "period value size: active/revenue/cumulative ARPU ...".
func table(r *measure.CohortReport) []string {
	var out []string
	for _, c := range r.Cohorts {
		s := fmt.Sprintf("%s %s %d:", c.Period, c.Value, c.Size)
		for _, p := range c.Periods {
			s += fmt.Sprintf(" %d/%g/%.2f", p.Active, p.Revenue, *p.CumulativeARPU)
		}
		out = append(out, s)
	}
	return out
}

func TestCohortsHandComputed(t *testing.T) {
	h := newHarness(t, "UTC")
	cohortFixture(h)
	h.clk.Set(time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC)) // periods run to today
	r, err := h.eng.Cohorts(h.ctx, measure.CohortQuery{From: "2025-01-01", To: "2025-03-31"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"2025-01-01  3: 3/140/46.67 1/50/63.33 2/60/83.33",
		"2025-02-01  2: 2/95/47.50 1/5/50.00",
		"2025-03-01  1: 1/70/70.00",
	}
	if got := table(r); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("by first order:\n got %q\nwant %q", got, want)
	}
	if rt := r.Cohorts[0].Periods[2].Retention; !near(rt, 2.0/3) || r.Interval != "month" || r.Activity != "orders" {
		t.Errorf("retention %v, %s %s", show(rt), r.Interval, r.Activity)
	}
	var csv strings.Builder
	if err := measure.WriteCohortsCSV(&csv, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv.String(), "\n2025-01-01,,3,2,2025-03-01,2,0.6666666666666666,60.00,83.33333333333333\n") {
		t.Errorf("csv:\n%s", csv.String())
	}
	// Split by the first order's channel.
	r, err = h.eng.Cohorts(h.ctx, measure.CohortQuery{From: "2025-01-01", To: "2025-01-31", Split: "channel"})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"2025-01-01 pos 1: 1/10/10.00 0/0/10.00 0/0/10.00", "2025-01-01 web 2: 2/130/65.00 1/50/90.00 2/60/120.00"}
	if got := table(r); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("by channel:\n got %q\nwant %q", got, want)
	}
	// First seen, active = visited: a3's February visit counts.
	r, err = h.eng.Cohorts(h.ctx, measure.CohortQuery{From: "2025-01-01", To: "2025-01-31", By: "first_seen"})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Cohorts[0]; c.Size != 3 || c.Periods[1].Active != 2 || r.Activity != "visits" {
		t.Errorf("first seen: %+v", r.Cohorts)
	}
	for _, bad := range []measure.CohortQuery{{Interval: "day"}, {By: "birthday"}, {Activity: "clicks"}, {By: "first_seen", Split: "store"}} {
		if _, err := h.eng.Cohorts(h.ctx, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
