package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// runMeasure runs the conformance tests of the measure rollups and reports.
func runMeasure(t *testing.T, open Opener) {
	t.Run("MeasureFlushes", func(t *testing.T) { testMeasureFlushes(t, open(t)) })
	t.Run("MeasureMergesAndReset", func(t *testing.T) { testMeasureMerges(t, open(t)) })
	t.Run("MeasureCostsAndDefinitions", func(t *testing.T) { testMeasureReports(t, open(t)) })
	t.Run("MeasureJourneyArms", func(t *testing.T) { testJourneyArms(t, open(t)) })
}

func testMeasureFlushes(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := t0.Truncate(time.Microsecond)
	first := &store.MeasureBatch{Consumer: "measure", From: 0, Checkpoint: 10,
		Cells: []store.MeasureCell{{Day: 20000, Metric: "orders", N: 2}, {Day: 20000, Metric: "orders", Dim: "channel", Value: "web", N: 2}},
		Sets:  []store.MeasureSet{{Day: 20000, Name: "buyers", Bits: []byte{1, 2, 3}, Version: 10}, {Day: 20001, Name: "buyers", Bits: []byte{9}, Version: 10}},
		Orders: []*store.MeasureOrder{{ID: "o1", Profile: 7, At: at, Key: "m1", Channel: "web", Source: "src_web", Fulfillment: "online", Cents: 1250},
			{ID: "o2", Profile: 8, Cancelled: true}},
		Touches:  []store.MeasureTouch{{Profile: 7, Kind: "message_sent", Channel: "email", Campaign: "nl", Day: 20000, At: at.Add(time.Hour)}},
		Profiles: []store.MeasureProfile{{ID: 7, FirstSeen: at.Truncate(time.Second), Acquisition: "web", MinDay: 19999, LastDay: 20000}},
	}
	if err := s.ApplyMeasure(ctx, first); err != nil {
		t.Fatal(err)
	}
	// Counters add up; sets are replaced (no bits: deleted); a touch keeps
	// its earliest time.
	second := &store.MeasureBatch{Consumer: "measure", From: 10, Checkpoint: 20,
		Cells:   []store.MeasureCell{{Day: 20000, Metric: "orders", N: -1}, {Day: 20000, Metric: "revenue", N: 500}},
		Sets:    []store.MeasureSet{{Day: 20000, Name: "buyers", Bits: []byte{4}, Version: 20}, {Day: 20001, Name: "buyers", Version: 20}},
		Touches: []store.MeasureTouch{{Profile: 7, Kind: "message_sent", Channel: "email", Campaign: "nl", Day: 20000, At: at}},
		Orders:  []*store.MeasureOrder{{ID: "o1", Profile: 7, At: at, Key: "m1", Channel: "pos", Store: "st-1", Fulfillment: "in_store", Cents: 1250, FullRefundAt: at.Add(time.Hour)}},
	}
	if err := s.ApplyMeasure(ctx, second); err != nil {
		t.Fatal(err)
	}
	if cp, err := s.Checkpoint(ctx, "measure"); err != nil || cp != 20 {
		t.Fatalf("checkpoint %d, %v", cp, err)
	}
	// A flush that does not continue from the stored checkpoint is refused.
	err := s.ApplyMeasure(ctx, &store.MeasureBatch{Consumer: "measure", From: 10, Checkpoint: 30, Cells: []store.MeasureCell{{Day: 20000, Metric: "orders", N: 100}}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale flush: want ErrConflict, got %v", err)
	}
	cells, err := s.MeasureCells(ctx, store.CellQuery{From: 19000, To: 21000})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, c := range cells {
		got[fmt.Sprint(c.Day, c.Metric, c.Dim, c.Value)] = c.N
	}
	if got["20000orders"] != 1 || got["20000orderschannelweb"] != 2 || got["20000revenue"] != 500 || len(got) != 3 {
		t.Fatalf("cells: %v", got)
	}
	web, err := s.MeasureCells(ctx, store.CellQuery{From: 20000, To: 20000, Metrics: []string{"orders"}, Dims: []string{"channel"}})
	if err != nil || len(web) != 1 || web[0].Value != "web" {
		t.Fatalf("cells by metric and dim: %+v, %v", web, err)
	}
	sets, err := s.MeasureSets(ctx, store.SetQuery{From: 19000, To: 21000, Names: []string{"buyers"}})
	if err != nil || len(sets) != 1 || string(sets[0].Bits) != "\x04" || sets[0].Version != 20 || sets[0].Day != 20000 {
		t.Fatalf("sets: %+v, %v", sets, err)
	}
	keys, err := s.MeasureSets(ctx, store.SetQuery{From: 19000, To: 21000, NoBits: true})
	if err != nil || len(keys) != 1 || keys[0].Bits != nil || keys[0].Version != 20 {
		t.Fatalf("set keys: %+v, %v", keys, err)
	}
	orders, err := s.MeasureOrders(ctx, []string{"o1", "o2", "o3"})
	if err != nil || len(orders) != 2 {
		t.Fatalf("orders: %v, %v", orders, err)
	}
	o1 := orders["o1"]
	if o1.Channel != "pos" || o1.Store != "st-1" || !o1.At.Equal(at) || !o1.FullRefundAt.Equal(at.Add(time.Hour)) || !o1.Counted() {
		t.Fatalf("o1: %+v", o1)
	}
	if o2 := orders["o2"]; !o2.Cancelled || !o2.At.IsZero() || o2.Counted() {
		t.Fatalf("o2: %+v", o2)
	}
	var scanned []string
	if err := s.ScanOrders(ctx, at.Add(-time.Hour), at.Add(time.Hour), func(o *store.MeasureOrder) error {
		scanned = append(scanned, o.ID)
		return nil
	}); err != nil || fmt.Sprint(scanned) != "[o1]" {
		t.Fatalf("scanned orders %v, %v", scanned, err)
	}
	var touches []store.MeasureTouch
	if err := s.ScanTouches(ctx, at.Add(-time.Hour), at.Add(2*time.Hour), func(x *store.MeasureTouch) error {
		touches = append(touches, *x)
		return nil
	}); err != nil || len(touches) != 1 || !touches[0].At.Equal(at) {
		t.Fatalf("touches %+v, %v", touches, err)
	}
	ps, err := s.MeasureProfiles(ctx, 0, 10)
	if err != nil || len(ps) != 1 || ps[0].ID != 7 || ps[0].Acquisition != "web" || ps[0].MinDay != 19999 || ps[0].LastDay != 20000 ||
		!ps[0].FirstSeen.Equal(at.Truncate(time.Second)) || !ps[0].FirstOrder.IsZero() {
		t.Fatalf("profiles %+v, %v", ps, err)
	}
}

func testMeasureMerges(t *testing.T, s store.Store) {
	ctx := context.Background()
	at := t0.Truncate(time.Microsecond)
	touch := func(p int64, when time.Time) store.MeasureTouch {
		return store.MeasureTouch{Profile: p, Kind: "campaign", Channel: "instagram", Campaign: "spring", Day: 20000, At: when}
	}
	if err := s.ApplyMeasure(ctx, &store.MeasureBatch{Consumer: "measure", Checkpoint: 5,
		Orders:   []*store.MeasureOrder{{ID: "a", Profile: 1, At: at, Key: "k"}, {ID: "b", Profile: 2, At: at, Key: "k"}},
		Touches:  []store.MeasureTouch{touch(1, at.Add(time.Hour)), touch(2, at)},
		Profiles: []store.MeasureProfile{{ID: 1, Acquisition: "web"}, {ID: 2, Acquisition: "ios"}},
		Merges:   []store.ProfileMerge{{Into: 1, Merged: 2}},
	}); err != nil {
		t.Fatal(err)
	}
	orders, err := s.ProfileOrders(ctx, []int64{1})
	if err != nil || len(orders) != 2 {
		t.Fatalf("orders of the merged profile: %d, %v", len(orders), err)
	}
	if rest, err := s.ProfileOrders(ctx, []int64{2}); err != nil || len(rest) != 0 {
		t.Fatalf("merged profile keeps %d orders, %v", len(rest), err)
	}
	var touches []store.MeasureTouch
	if err := s.ScanTouches(ctx, at.Add(-time.Hour), at.Add(2*time.Hour), func(x *store.MeasureTouch) error {
		touches = append(touches, *x)
		return nil
	}); err != nil || len(touches) != 1 || touches[0].Profile != 1 || !touches[0].At.Equal(at) {
		t.Fatalf("touches after the merge (one, the earliest): %+v, %v", touches, err)
	}
	ps, err := s.MeasureProfiles(ctx, 0, 10)
	if err != nil || len(ps) != 1 || ps[0].ID != 1 {
		t.Fatalf("profiles after the merge: %+v, %v", ps, err)
	}
	if z, err := s.MeasureZone(ctx); err != nil || z != "" {
		t.Fatalf("zone before any reset: %q, %v", z, err)
	}
	if err := s.ResetMeasure(ctx, "measure", "Europe/Paris"); err != nil {
		t.Fatal(err)
	}
	if z, err := s.MeasureZone(ctx); err != nil || z != "Europe/Paris" {
		t.Fatalf("zone: %q, %v", z, err)
	}
	cp, _ := s.Checkpoint(ctx, "measure")
	ps, _ = s.MeasureProfiles(ctx, 0, 10)
	cells, _ := s.MeasureCells(ctx, store.CellQuery{From: math.MinInt32, To: math.MaxInt32})
	if orders, _ := s.ProfileOrders(ctx, []int64{1}); cp != 0 || len(ps) != 0 || len(cells) != 0 || len(orders) != 0 {
		t.Fatalf("after reset: checkpoint %d, %d profiles, %d cells, %d orders", cp, len(ps), len(cells), len(orders))
	}
}

func testMeasureReports(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.SaveCosts(ctx, []store.MeasureCost{{Day: 20000, Channel: "google", Campaign: "brand", Cents: 10000, Currency: "EUR"},
		{Day: 20001, Channel: "google", Campaign: "brand", Cents: 5000, Currency: "EUR"}}); err != nil {
		t.Fatal(err)
	}
	// The same row again replaces it.
	if err := s.SaveCosts(ctx, []store.MeasureCost{{Day: 20000, Channel: "google", Campaign: "brand", Cents: 12000, Currency: "EUR"}}); err != nil {
		t.Fatal(err)
	}
	costs, err := s.MeasureCosts(ctx, 20000, 20000)
	if err != nil || len(costs) != 1 || costs[0].Cents != 12000 || costs[0].Campaign != "brand" {
		t.Fatalf("costs: %+v, %v", costs, err)
	}
	d := &store.MeasureDefinition{ID: "checkout", Kind: "funnel", Definition: []byte(`{"steps":[{"event":"a"}]}`), CreatedAt: t0, UpdatedAt: t0}
	if err := s.SaveMeasureDefinition(ctx, d); err != nil || d.Version != 1 {
		t.Fatalf("save: version %d, %v", d.Version, err)
	}
	same := &store.MeasureDefinition{ID: "checkout", Kind: "funnel", Definition: []byte(`{"steps":[{"event":"a"}]}`), CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)}
	if err := s.SaveMeasureDefinition(ctx, same); err != nil || same.Version != 1 {
		t.Fatalf("unchanged: version %d, %v", same.Version, err)
	}
	changed := &store.MeasureDefinition{ID: "checkout", Kind: "funnel", Definition: []byte(`{"steps":[{"event":"b"}]}`), CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)}
	if err := s.SaveMeasureDefinition(ctx, changed); err != nil || changed.Version != 2 || !changed.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("changed: %+v, %v", changed, err)
	}
	got, err := s.MeasureDefinition(ctx, "checkout")
	if err != nil || got.Version != 2 || got.Kind != "funnel" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	list, err := s.ListMeasureDefinitions(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v, %v", list, err)
	}
	if err := s.DeleteMeasureDefinition(ctx, "checkout"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MeasureDefinition(ctx, "checkout"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	if err := s.DeleteMeasureDefinition(ctx, "checkout"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted twice: %v", err)
	}
}

func testJourneyArms(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.SaveJourney(ctx, &store.JourneyRecord{ID: "ab", Definition: []byte(`{}`), Status: "live", UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var batch store.JourneyBatch
	for i, arm := range []string{"control", "a", "b", "a"} {
		en := enrolment("ab", int64(i+1), time.Time{})
		if arm == "control" {
			en.Status = "control"
			batch.Insert = append(batch.Insert, en)
			batch.Log = append(batch.Log, store.StepLog{Enrolment: en, Kind: "enter", Outcome: "control", At: t0},
				store.StepLog{Enrolment: en, Kind: "goal", Outcome: "converted", At: t0})
			continue
		}
		batch.Insert = append(batch.Insert, en)
		batch.Log = append(batch.Log, store.StepLog{Enrolment: en, Kind: "enter", Outcome: "entered", At: t0},
			store.StepLog{Enrolment: en, Step: "steps[0]", Kind: "split", Outcome: arm, At: t0})
		if i == 1 {
			batch.Log = append(batch.Log, store.StepLog{Enrolment: en, Kind: "goal", Outcome: "converted", At: t0})
		}
	}
	if err := s.ApplyJourneys(ctx, &batch); err != nil {
		t.Fatal(err)
	}
	arms, err := s.JourneyArms(ctx, "ab")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range arms {
		got = append(got, fmt.Sprintf("%d %v %s %s %v %v", a.Profile, a.Control, a.Split, a.Variant, a.Converted, a.EnteredAt.Equal(t0.Truncate(time.Microsecond))))
	}
	want := []string{"1 true   true true", "2 false steps[0] a true true", "3 false steps[0] b false true", "4 false steps[0] a false true"}
	if !slices.Equal(got, want) {
		t.Fatalf("arms:\n got %q\nwant %q", got, want)
	}
}
