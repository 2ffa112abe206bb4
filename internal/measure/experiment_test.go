package measure_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// profileOf returns the profile unify gave a user id.
func (h *harness) profileOf(user string) int64 {
	h.t.Helper()
	id := identity.Identifier{Kind: identity.UserID, Value: user}
	got, err := h.st.Holders(h.ctx, []identity.Identifier{id})
	if err != nil || got[id] == 0 {
		h.t.Fatalf("no profile for %s: %v", user, err)
	}
	return got[id]
}

// saveJourney stores a journey definition and enrolments: arms[i] is
// "control" or a split variant, converted[i] whether it reached the goal.
func (h *harness) saveJourney(d *journey.Definition, profiles []int64, arms []string, converted []bool, entered time.Time) {
	h.t.Helper()
	body, _ := json.Marshal(d)
	if err := h.st.SaveJourney(h.ctx, &store.JourneyRecord{ID: d.ID, Definition: body, Status: "live", UpdatedAt: entered}); err != nil {
		h.t.Fatal(err)
	}
	var b store.JourneyBatch
	for i, p := range profiles {
		en := &store.Enrolment{Journey: d.ID, Version: 1, Profile: p, Status: "active", Step: "steps[0]", State: []byte(`{}`),
			EnteredAt: entered, UpdatedAt: entered}
		b.Insert = append(b.Insert, en)
		if arms[i] == "control" {
			en.Status = "control"
			b.Log = append(b.Log, store.StepLog{Enrolment: en, Kind: "enter", Outcome: "control", At: entered})
		} else {
			b.Log = append(b.Log, store.StepLog{Enrolment: en, Kind: "enter", Outcome: "entered", At: entered},
				store.StepLog{Enrolment: en, Step: "steps[0]", Kind: "split", Outcome: arms[i], At: entered})
		}
		if converted[i] {
			b.Log = append(b.Log, store.StepLog{Enrolment: en, Kind: "goal", Outcome: "converted", At: entered})
		}
	}
	if err := h.st.ApplyJourneys(h.ctx, &b); err != nil {
		h.t.Fatal(err)
	}
}

// TestExperimentHandComputed: a win-back journey with a 20 % control group
// and a split between an email and a holdout variant (no steps).
//
//	control  10 enrolments, 2 converted; c1 ordered 30 within the week
//	email    20, 8 converted; e1 ordered 100
//	holdout  20, 4 converted; h2 ordered 60, h1 ordered 40 after the week
func TestExperimentHandComputed(t *testing.T) {
	h := newHarness(t, "UTC")
	entered := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	order := func(user, id string, after time.Duration, revenue float64) ev {
		return ev{user: user, name: "Order Completed", at: entered.Add(after).Format(time.RFC3339), channel: "web",
			props: map[string]any{"order_id": id, "revenue": revenue}}
	}
	h.send(order("c1", "c1-1", time.Hour, 30), order("e1", "e1-1", 2*time.Hour, 100), order("h2", "h2-1", 24*time.Hour, 60),
		order("h1", "h1-1", 8*24*time.Hour, 40), order("e1", "e1-0", -time.Hour, 500))
	h.catchUp(10)
	var profiles []int64
	var arms []string
	var converted []bool
	add := func(arm string, n, conv int, withOrders ...string) {
		for i := range n {
			p := int64(1000 + len(profiles))
			if i < len(withOrders) {
				p = h.profileOf(withOrders[i])
			}
			profiles, arms, converted = append(profiles, p), append(arms, arm), append(converted, i < conv)
		}
	}
	add("control", 10, 2, "c1")
	add("email", 20, 8, "e1")
	add("holdout", 20, 4, "h1", "h2")
	d := &journey.Definition{ID: "winback", Name: "Win back", ControlGroup: 20,
		Goal: &journey.Goal{Event: "Order Completed", Within: segment.Duration(7 * 24 * time.Hour)},
		Steps: []journey.Step{{Split: &journey.Split{Variants: []journey.Variant{
			{Name: "email", Weight: 1, Steps: []journey.Step{{Exit: &journey.Exit{}}}}, {Name: "holdout", Weight: 1}}}}}}
	h.saveJourney(d, profiles, arms, converted, entered)

	svc := measure.NewService(h.st, h.eng, nil, h.zone, h.clk)
	r, err := svc.Experiment(h.ctx, measure.ExperimentQuery{Journey: "winback"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Experiments) != 2 || r.Goal != "Order Completed within 7d of entering" || r.Window != "7d" || r.Test != measure.Test {
		t.Fatalf("report: %+v", r)
	}
	hold, split := r.Experiments[0], r.Experiments[1]
	arm := func(ex measure.Experiment, name string) measure.Arm {
		for _, a := range ex.Arms {
			if a.Name == name {
				return a
			}
		}
		t.Fatalf("no arm %s in %+v", name, ex)
		return measure.Arm{}
	}
	c, tr := arm(hold, "control"), arm(hold, "treatment")
	if !c.Reference || c.Customers != 10 || c.Converted != 2 || !near(c.Rate, 0.2) || !near(c.RevenuePerRecipient, 3) {
		t.Errorf("control: %+v", c)
	}
	// Treatment 12 of 40 against control 2 of 10: pooled z 0.6299, p 0.5287.
	if tr.Customers != 40 || !near(tr.Rate, 0.3) || !closeTo(tr.Lift, 0.5, 1e-9) || !closeTo(tr.PValue, 0.52874, 1e-4) || tr.Significant ||
		!near(tr.RevenuePerRecipient, 4) || !near(tr.Share, 0.8) {
		t.Errorf("treatment: %+v lift %v p %v rpr %v", tr, show(tr.Lift), show(tr.PValue), show(tr.RevenuePerRecipient))
	}
	if hold.SRM == nil || hold.SRM.Mismatch || hold.SRM.ChiSquare != 0 {
		t.Errorf("holdout sample ratio: %+v", hold.SRM)
	}
	if !strings.Contains(strings.Join(hold.Warnings, "\n"), "not significant yet (p = 0.529") {
		t.Errorf("holdout warnings: %v", hold.Warnings)
	}
	// The split: the holdout variant (no steps) is the reference. Email 8
	// of 20 against 4 of 20: z 1.3801, p 0.1675; e1's earlier order does
	// not count, nor h1's after the week.
	e, ho := arm(split, "email"), arm(split, "holdout")
	if !ho.Reference || split.Step != "steps[0]" || !closeTo(e.Lift, 1, 1e-9) || !closeTo(e.PValue, 0.16754, 1e-4) ||
		!near(e.RevenuePerRecipient, 5) || !near(ho.RevenuePerRecipient, 3) || !closeTo(e.Difference, 0.2, 1e-12) {
		t.Errorf("split: email %+v holdout %+v", e, ho)
	}
	if lo, hi := e.RateLow, e.RateHigh; lo == nil || hi == nil || !(*lo < 0.4 && *hi > 0.4) {
		t.Errorf("email interval: %v %v", show(lo), show(hi))
	}
}

// TestExperimentSampleRatioMismatch: a 50 % control group that got 10 of
// 100 customers.
func TestExperimentSampleRatioMismatch(t *testing.T) {
	h := newHarness(t, "UTC")
	var profiles []int64
	var arms []string
	var conv []bool
	for i := range 100 {
		profiles = append(profiles, int64(i+1))
		arm := "email"
		if i < 10 {
			arm = "control"
		}
		arms, conv = append(arms, arm), append(conv, i%3 == 0)
	}
	d := &journey.Definition{ID: "srm", Name: "srm", ControlGroup: 50, Steps: []journey.Step{{Exit: &journey.Exit{}}}}
	h.saveJourney(d, profiles, arms, conv, time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC))
	svc := measure.NewService(h.st, h.eng, nil, h.zone, h.clk)
	r, err := svc.Experiment(h.ctx, measure.ExperimentQuery{Journey: "srm"})
	if err != nil {
		t.Fatal(err)
	}
	ex := r.Experiments[0]
	// Chi-square (10-50)^2/50 + (90-50)^2/50 = 64.
	if ex.SRM == nil || !ex.SRM.Mismatch || ex.SRM.ChiSquare != 64 || !strings.HasPrefix(ex.Warnings[0], "sample ratio mismatch") {
		t.Fatalf("SRM: %+v %v", ex.SRM, ex.Warnings)
	}
	if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "no goal") {
		t.Errorf("no goal: %v", r.Warnings)
	}
	if _, err := svc.Experiment(h.ctx, measure.ExperimentQuery{Journey: "nope"}); err == nil {
		t.Error("an unknown journey: no error")
	}
}

func closeTo(v *float64, want, tol float64) bool {
	return v != nil && math.Abs(*v-want) <= tol
}
