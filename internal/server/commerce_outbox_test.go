package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// TestOutboxMetrics checks that the relay's deliveries are on /metrics.
func TestOutboxMetrics(t *testing.T) {
	h := newHarness(t)
	seedCatalog(t, h.srv.Commerce(), []string{"SHOE-42"}, []string{"lyon"})
	h.outboxDrained()
	if _, err := h.srv.Commerce().SetStock(context.Background(), []commerce.StockLevel{{SKU: "SHOE-42", Location: "lyon", OnHand: 5}}); err != nil {
		t.Fatal(err)
	}
	h.outboxDrained()
	resp, err := http.Get(h.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"parcours_commerce_outbox_delivered_total 1", "parcours_commerce_outbox_failures_total 0",
		"parcours_commerce_outbox_delay_seconds_count 1"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestGracefulStopDeliversTheOutbox changes stock as fast as it can and
// closes the server at once: Close stops the relay after a last delivery
// and before the committer, so every event is in the log and none is left
// in the outbox.
func TestGracefulStopDeliversTheOutbox(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	srv := server.New(st, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv.Start()
	const n = 50
	var locs []string
	for i := range n {
		locs = append(locs, fmt.Sprintf("loc-%02d", i))
	}
	seedCatalog(t, srv.Commerce(), []string{"SHOE-42"}, locs)
	for i := range n {
		// 0 → 5 at a new location: one Back In Stock each.
		if _, err := srv.Commerce().SetStock(ctx, []commerce.StockLevel{{SKU: "SHOE-42", Location: fmt.Sprintf("loc-%02d", i), OnHand: 5}}); err != nil {
			t.Fatal(err)
		}
	}
	srv.Close()
	if es, err := st.Outbox(ctx, 100); err != nil || len(es) != 0 {
		t.Fatalf("after a graceful stop the outbox holds %d events (%v)", len(es), err)
	}
	evs, err := st.ReadAfter(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	back := 0
	for _, e := range evs {
		if e.Event == commerce.EventBackInStock {
			back++
		}
	}
	if back != n {
		t.Fatalf("%d Back In Stock in the log, want %d", back, n)
	}
}
