package measure_test

import (
	"context"
	"testing"

	"github.com/parcours/parcours/internal/measure"
)

// TestBatchWhoseDayCannotBeLoaded: a batch whose day's sets cannot be read
// (here the context is cancelled, as at shutdown) fails with that error; it
// never writes into a day that is not there (it panicked on a nil map), and
// the stage counts the batch whole once it can read again.
func TestBatchWhoseDayCannotBeLoaded(t *testing.T) {
	h := newHarness(t, "UTC")
	// A first visit makes the stage remember alice's profile: the next
	// batch finds its owner without a query, and fails on its day only.
	h.send(ev{user: "alice", typ: "page", name: "Home", at: "2025-01-01T09:00:00Z", channel: "web"})
	h.catchUp(10)
	h.send(ev{user: "alice", typ: "page", name: "Home", at: "2025-01-02T09:00:00Z", channel: "web"})
	// unify only: the measure stage has not read the event yet.
	cp, _ := h.st.Checkpoint(h.ctx, measure.Consumer)
	batch, err := h.st.ReadAfter(h.ctx, cp, 10)
	if err != nil || len(batch) != 1 {
		t.Fatalf("read: %v %d", err, len(batch))
	}
	if err := h.uni.Process(h.ctx, batch); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(h.ctx)
	cancel()
	if err := h.stage.Process(cancelled, batch); err == nil {
		t.Fatal("a batch whose day could not be read succeeded")
	}
	// The stage starts over from its checkpoint, as Run does after an error.
	if err := h.stage.Load(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.catchUp(10)
	r := h.kpis(measure.KPIQuery{From: "2025-01-02", To: "2025-01-02", KPIs: []string{"visitors"}})
	if v := r.KPIs[0].Value; v == nil || *v != 1 {
		t.Fatalf("visitors after the retry: %v", v)
	}
}
