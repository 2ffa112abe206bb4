package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// TestStageLagReadsCheckpoints: a stage whose checkpoint is behind the
// log reads the events it has left and the age of the oldest of them; a
// stage at the end reads 0 and 0.
func TestStageLagReadsCheckpoints(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	var es []*event.Event
	for i := range 10 {
		at := t0.Add(time.Duration(i) * time.Second)
		es = append(es, &event.Event{MessageID: fmt.Sprint("m", i), Type: event.Track, Event: "Product Viewed", UserID: "u1",
			Timestamp: at, ReceivedAt: at, SourceID: "web", Channel: "web"})
	}
	if err := st.Append(ctx, es, nil); err != nil {
		t.Fatal(err)
	}
	last, err := st.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range Stages {
		if err := st.SaveCheckpoint(ctx, name, last); err != nil {
			t.Fatal(err)
		}
	}
	// Segments handled the first 4: the 5th, received at t0+4s, is the
	// oldest left; 60 s later it has waited 56 s.
	if err := st.SaveCheckpoint(ctx, Stages[1], last-6); err != nil {
		t.Fatal(err)
	}
	lag := newStageLag(st, clock.NewFake(t0.Add(60*time.Second)))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(lag)
	var want strings.Builder
	want.WriteString("# HELP parcours_stage_behind_events Events of the log a stage has not handled yet.\n# TYPE parcours_stage_behind_events gauge\n")
	for _, name := range Stages {
		n := 0
		if name == Stages[1] {
			n = 6
		}
		fmt.Fprintf(&want, "parcours_stage_behind_events{stage=%q} %d\n", name, n)
	}
	want.WriteString("# HELP parcours_stage_lag_seconds How long ago the oldest event a stage has not handled yet was received (0: it is caught up).\n# TYPE parcours_stage_lag_seconds gauge\n")
	for _, name := range Stages {
		s := 0
		if name == Stages[1] {
			s = 56
		}
		fmt.Fprintf(&want, "parcours_stage_lag_seconds{stage=%q} %d\n", name, s)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want.String())); err != nil {
		t.Error(err)
	}
}
