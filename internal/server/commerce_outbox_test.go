package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store/sqlite"
)

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
