package measure_test

import (
	"math"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/measure"
)

// attributionFixture (UTC), orders of April 2025, 30-day lookback:
//
//	p1  a web visit from Instagram (spring) 20 Mar 10:00; newsletter nl-1
//	    delivered 27 Mar 10:00, clicked 12:00; order 3 Apr 10:00, 100
//	p2  joins the loyalty programme in store st-1 10 Apr 15:00, buys there
//	    15:30, 50
//	p3  an order 15 Apr, 30, nothing before
//	p4  a visit from Google 1 Feb (too early); an order 20 Apr, 20
func attributionFixture(h *harness) {
	order := func(user, id, at, channel, store string, revenue float64) ev {
		return ev{user: user, name: "Order Completed", at: at, channel: channel, store: store,
			props: map[string]any{"order_id": id, "revenue": revenue}}
	}
	h.send(
		ev{user: "p1", typ: event.Page, name: "Home", at: "2025-03-20T10:00:00Z", channel: "web",
			ctx: map[string]any{"campaign": map[string]any{"source": "instagram", "name": "spring"}}},
		ev{user: "p1", name: "Email Delivered", at: "2025-03-27T10:00:00Z", channel: "email", props: map[string]any{"campaign_id": "nl-1"}},
		ev{user: "p1", name: "Email Link Clicked", at: "2025-03-27T12:00:00Z", channel: "email", props: map[string]any{"campaign_id": "nl-1"}},
		order("p1", "a1", "2025-04-03T10:00:00Z", "web", "", 100),
		ev{user: "p2", name: "Loyalty Program Joined", at: "2025-04-10T15:00:00Z", channel: "pos", store: "st-1"},
		order("p2", "a2", "2025-04-10T15:30:00Z", "pos", "st-1", 50),
		order("p3", "a3", "2025-04-15T10:00:00Z", "web", "", 30),
		ev{user: "p4", typ: event.Page, name: "Home", at: "2025-02-01T10:00:00Z", channel: "web",
			ctx: map[string]any{"campaign": map[string]any{"source": "google", "name": "brand"}}},
		order("p4", "a4", "2025-04-20T10:00:00Z", "web", "", 20),
	)
	h.catchUp(3)
}

func TestAttributionHandComputed(t *testing.T) {
	h := newHarness(t, "UTC")
	attributionFixture(h)
	r, err := h.eng.Attribution(h.ctx, measure.AttributionQuery{From: "2025-04-01", To: "2025-04-30"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Orders != 4 || r.Revenue != 200 || r.Unattributed != 2 || r.Lookback != "30d" || r.HalfLife != "7d" {
		t.Fatalf("totals: %+v", r)
	}
	rows := map[string]measure.AttributionRow{}
	for _, row := range r.Rows {
		rows[row.Kind+"/"+row.Channel+"/"+row.Campaign] = row
	}
	// Time decay: 14 days, 7 days and 6 days 22 hours before the order,
	// with a 7-day half-life.
	w := []float64{0.25, 0.5, math.Exp2(-166.0 / 168)}
	sum := w[0] + w[1] + w[2]
	for key, want := range map[string]map[string]float64{
		"campaign/instagram/spring":  {"first": 1, "last": 0, "linear": 1.0 / 3, "position": 0.4, "time_decay": w[0] / sum},
		"message_sent/email/nl-1":    {"first": 0, "last": 0, "linear": 1.0 / 3, "position": 0.2, "time_decay": w[1] / sum},
		"message_clicked/email/nl-1": {"first": 0, "last": 1, "linear": 1.0 / 3, "position": 0.4, "time_decay": w[2] / sum},
		"store_visit/pos/st-1":       {"first": 1, "last": 1, "linear": 1, "position": 1, "time_decay": 1},
		"(none)//":                   {"first": 2, "last": 2, "linear": 2, "position": 2, "time_decay": 2},
	} {
		row, ok := rows[key]
		if !ok {
			t.Errorf("no row %s in %+v", key, r.Rows)
			continue
		}
		for model, orders := range want {
			got := row.Credit[model]
			revenue := orders * 100
			switch key {
			case "store_visit/pos/st-1":
				revenue = 50
			case "(none)//":
				revenue = 50
			}
			if math.Abs(got.Orders-orders) > 1e-9 || math.Abs(got.Revenue-revenue) > 1e-9 {
				t.Errorf("%s %s: %+v, want %v orders, %v revenue", key, model, got, orders, revenue)
			}
		}
	}
	var csv strings.Builder
	if err := measure.WriteAttributionCSV(&csv, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(csv.String(), "\nstore_visit,pos,st-1,,1,position,1,50.00\n") {
		t.Errorf("csv:\n%s", csv.String())
	}
	if rows["campaign/instagram/spring"].Touches != 1 {
		t.Errorf("touches: %+v", rows["campaign/instagram/spring"])
	}
	// By journey: the newsletter's two touches together.
	j, err := h.eng.Attribution(h.ctx, measure.AttributionQuery{From: "2025-04-01", To: "2025-04-30", By: "journey"})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range j.Rows {
		if row.Journey == "nl-1" && (math.Abs(row.Credit["linear"].Orders-2.0/3) > 1e-9 || math.Abs(row.Credit["position"].Orders-0.6) > 1e-9 || row.Credit["last"].Orders != 1) {
			t.Errorf("nl-1: %+v", row)
		}
	}
	// A shorter lookback leaves p1 only the newsletter.
	s, err := h.eng.Attribution(h.ctx, measure.AttributionQuery{From: "2025-04-01", To: "2025-04-30", Lookback: 8 * 24 * 3600e9, By: "channel"})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range s.Rows {
		if row.Channel == "instagram" {
			t.Errorf("instagram is outside an 8-day lookback: %+v", row)
		}
		if row.Channel == "email" && row.Credit["first"].Orders != 1 {
			t.Errorf("email: %+v", row)
		}
	}
	if _, err := h.eng.Attribution(h.ctx, measure.AttributionQuery{By: "colour"}); err == nil {
		t.Error("by colour: no error")
	}
}
