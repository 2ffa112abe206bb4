package measure_test

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/store"
)

// dump reads every rollup the stage wrote, in a form that compares: sets
// as their members, without the versions.
func (h *harness) dump() map[string][]string {
	h.t.Helper()
	out := map[string][]string{}
	cells, err := h.st.MeasureCells(h.ctx, store.CellQuery{From: math.MinInt32, To: math.MaxInt32})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, c := range cells {
		if c.N != 0 {
			out["cells"] = append(out["cells"], fmt.Sprint(c.Day, c.Metric, c.Dim, c.Value, c.N))
		}
	}
	sets, err := h.st.MeasureSets(h.ctx, store.SetQuery{From: math.MinInt32, To: math.MaxInt32})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, s := range sets {
		b := roaring.New()
		if err := b.UnmarshalBinary(s.Bits); err != nil {
			h.t.Fatal(err)
		}
		if s.Name != "_all" { // a superset kept for merges; what it holds past the sets does not count
			out["sets"] = append(out["sets"], fmt.Sprint(s.Day, s.Name, s.Dim, s.Value, b.ToArray()))
		}
	}
	far := time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := h.st.ScanOrders(h.ctx, time.Unix(0, 0), far, func(o *store.MeasureOrder) error {
		out["orders"] = append(out["orders"], fmt.Sprintf("%+v", *o))
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.st.ScanTouches(h.ctx, time.Unix(0, 0), far, func(t *store.MeasureTouch) error {
		out["touches"] = append(out["touches"], fmt.Sprintf("%+v", *t))
		return nil
	}); err != nil {
		h.t.Fatal(err)
	}
	ps, err := h.st.MeasureProfiles(h.ctx, 0, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, p := range ps {
		out["profiles"] = append(out["profiles"], fmt.Sprintf("%+v", p))
	}
	for k := range out {
		slices.Sort(out[k])
	}
	return out
}

// TestLiveEqualsReplay counts the fixture live (in small batches, late
// events last), then rebuilds the rollups from the log in one go: both
// give the same rows.
func TestLiveEqualsReplay(t *testing.T) {
	h := newHarness(t, "Europe/Paris")
	sendFixture(h)
	live := h.dump()
	if len(live["cells"]) == 0 || len(live["sets"]) == 0 || len(live["orders"]) != 8 || len(live["profiles"]) == 0 {
		t.Fatalf("live rollups look empty: %d cells, %d sets, %d orders, %d profiles", len(live["cells"]), len(live["sets"]),
			len(live["orders"]), len(live["profiles"]))
	}
	if err := h.st.ResetMeasure(h.ctx, measure.Consumer, "Europe/Paris"); err != nil {
		t.Fatal(err)
	}
	h.stage = measure.NewStage(h.st, measure.Options{Clock: h.clk, Zone: h.zone})
	if err := h.stage.Load(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.catchUp(1000)
	replay := h.dump()
	for _, k := range []string{"cells", "sets", "orders", "touches", "profiles"} {
		if !reflect.DeepEqual(live[k], replay[k]) {
			t.Errorf("%s differ:\nlive   %v\nreplay %v", k, live[k], replay[k])
		}
	}
}

// TestArrivalOrderDoesNotMatter sends the fixture's events in reverse
// order (cancellations before their orders, the login before the visit,
// the late orders first): the KPIs are the same.
func TestArrivalOrderDoesNotMatter(t *testing.T) {
	h := newHarness(t, "Europe/Paris")
	var all []ev
	for _, part := range fixture() {
		all = append(all, part...)
	}
	slices.Reverse(all)
	for i := 0; i < len(all); i += 3 {
		h.send(all[i:min(i+3, len(all))]...)
		h.catchUp(2)
	}
	r := h.kpis(measure.KPIQuery{From: "2025-01-08", To: "2025-01-14",
		KPIs: []string{"orders", "revenue", "visitors", "buyers", "new_customers", "repeat_rate", "retention_rate", "clv", "new_visitors"}})
	for id, want := range map[string][2]float64{
		"orders": {4, 4}, "revenue": {195, 185}, "visitors": {5, 5}, "buyers": {4, 3}, "new_customers": {2, 3},
		"repeat_rate": {0.5, 0}, "clv": {360.0 / 5, 185.0 / 3}, "new_visitors": {0, 5},
	} {
		k := kpi(t, r, id)
		if !near(k.Value, want[0]) || !near(k.Previous, want[1]) {
			t.Errorf("%s = %v (previous %v), want %v", id, show(k.Value), show(k.Previous), want)
		}
	}
}
