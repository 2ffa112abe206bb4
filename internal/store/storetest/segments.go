package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// segmentStore is what the segment conformance tests need.
type segmentStore interface {
	store.Segments
	Checkpoint(ctx context.Context, consumer string) (int64, error)
}

// runSegments runs the tests of store.Segments.
func runSegments(t *testing.T, open Opener) {
	t.Run("DefinitionsAndVersions", func(t *testing.T) { testSegmentDefinitions(t, open(t)) })
	t.Run("BatchMembersTimersHistory", func(t *testing.T) { testSegmentBatch(t, open(t)) })
}

func testSegmentDefinitions(t *testing.T, s segmentStore) {
	ctx := context.Background()
	r := &store.SegmentRecord{ID: "vip", Definition: []byte(`{"id":"vip"}`), Status: "backfilling", UpdatedAt: t0}
	if err := s.SaveSegment(ctx, r); err != nil || r.Version != 1 {
		t.Fatalf("first save: version %d, err %v", r.Version, err)
	}
	r2 := &store.SegmentRecord{ID: "vip", Definition: []byte(`{"id":"vip","name":"x"}`), Status: "live", UpdatedAt: t0.Add(time.Hour)}
	if err := s.SaveSegment(ctx, r2); err != nil || r2.Version != 2 || !r2.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("second save: version %d, created %v, err %v", r2.Version, r2.CreatedAt, err)
	}
	r3 := &store.SegmentRecord{ID: "vip", Definition: []byte(`{"id":"vip","name":"x"}`), Status: "archived", UpdatedAt: t0.Add(2 * time.Hour)}
	if err := s.SaveSegment(ctx, r3); err != nil || r3.Version != 2 {
		t.Fatalf("a status change made version %d (err %v), want 2", r3.Version, err)
	}
	r3.Status = "live"
	if err := s.SaveSegment(ctx, r3); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListSegments(ctx)
	if err != nil || len(list) != 1 || string(list[0].Definition) != `{"id":"vip","name":"x"}` || list[0].Status != "live" || list[0].Version != 2 {
		t.Fatalf("list = %+v, %v", list, err)
	}
}

func testSegmentBatch(t *testing.T, s segmentStore) {
	ctx := context.Background()
	b := &store.SegmentBatch{
		Consumer: "segment", Checkpoint: 42, At: t0,
		States: map[int64][]byte{1: []byte(`{"a":1}`), 2: []byte(`{"b":2}`)},
		Changes: []store.SegmentChange{
			{Segment: "vip", Profile: 1, Entered: true, At: t0, Reason: "event 1"},
			{Segment: "vip", Profile: 2, Entered: true, At: t0, Reason: "event 2"},
		},
		Timers: map[int64]time.Time{1: t0.Add(time.Hour), 2: t0.Add(2 * time.Hour)},
		Sizes:  map[string]int64{"vip": 2},
	}
	if err := s.ApplySegments(ctx, b); err != nil {
		t.Fatal(err)
	}
	if cp, _ := s.Checkpoint(ctx, "segment"); cp != 42 {
		t.Fatalf("checkpoint = %d, want 42", cp)
	}
	states, err := s.SegmentStates(ctx, []int64{1, 2, 3})
	if err != nil || len(states) != 2 || string(states[2]) != `{"b":2}` {
		t.Fatalf("states = %v, %v", states, err)
	}
	due, err := s.DueSegmentTimers(ctx, t0.Add(90*time.Minute), 10)
	if err != nil || len(due) != 1 || due[0] != 1 {
		t.Fatalf("due = %v, %v", due, err)
	}
	// Profile 2 merged away, profile 1 leaves, its timer goes.
	b2 := &store.SegmentBatch{
		Consumer: "segment", At: t0.Add(25 * time.Hour), Deleted: []int64{2},
		Changes: []store.SegmentChange{
			{Segment: "vip", Profile: 1, Entered: false, At: t0.Add(25 * time.Hour), Reason: "time"},
		},
		Timers: map[int64]time.Time{1: {}},
		Sizes:  map[string]int64{"vip": 1},
	}
	if err := s.ApplySegments(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if cp, _ := s.Checkpoint(ctx, "segment"); cp != 42 {
		t.Fatalf("a batch without a checkpoint moved it to %d", cp)
	}
	if due, _ := s.DueSegmentTimers(ctx, t0.Add(100*time.Hour), 10); len(due) != 0 {
		t.Fatalf("timers left: %v", due)
	}
	members, err := s.SegmentMembers(ctx, "vip", 0, 10)
	if err != nil || len(members) != 1 || members[0].Profile != 2 {
		t.Fatalf("members = %+v, %v", members, err)
	}
	sizes, _ := s.SegmentSizes(ctx)
	if sizes["vip"] != 1 {
		t.Fatalf("sizes = %v", sizes)
	}
	counts, err := s.SegmentCounts(ctx, "vip")
	if err != nil || len(counts) != 2 || counts[0].Size != 2 || counts[1].Size != 1 {
		t.Fatalf("counts = %+v, %v", counts, err)
	}
	hist, err := s.SegmentHistory(ctx, store.SegmentHistoryQuery{Segment: "vip", Limit: 2})
	if err != nil || len(hist) != 2 || hist[0].Entered || hist[0].Reason != "time" || hist[1].Profile != 2 {
		t.Fatalf("history = %+v, %v", hist, err)
	}
	more, _ := s.SegmentHistory(ctx, store.SegmentHistoryQuery{Segment: "vip", Before: hist[1].ID})
	if len(more) != 1 || more[0].Profile != 1 || !more[0].Entered {
		t.Fatalf("history page 2 = %+v", more)
	}
	if err := s.ResetSegments(ctx, "segment"); err != nil {
		t.Fatal(err)
	}
	if cp, _ := s.Checkpoint(ctx, "segment"); cp != 0 {
		t.Fatalf("checkpoint after reset = %d", cp)
	}
	if m, _ := s.SegmentMembers(ctx, "vip", 0, 10); len(m) != 0 {
		t.Fatalf("members after reset: %v", m)
	}
}
