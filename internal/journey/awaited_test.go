package journey_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/journey"
)

// backInStock logs commerce's customerless Back In Stock event.
func (w *world) backInStock(sku, storeID string) {
	w.t.Helper()
	b, _ := json.Marshal(map[string]any{"sku": sku, "store_id": storeID, "available": 3})
	w.log(&event.Event{Type: event.Track, Event: "Back In Stock", Properties: b})
}

// TestBackInStockWhilePaused: an enrolment of a paused journey takes the
// Back In Stock it waits for (it would not come again), and sends once
// the journey is resumed; one waiting for another SKU does not move, and
// one waiting for a given store ignores the SKU's return elsewhere.
func TestBackInStockWhilePaused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.apply(`
kind: journey
id: bis
name: Back in stock
triggers:
  - event: Product Viewed
steps:
  - wait_for:
      event: Back In Stock
      where: {sku: "{{ event.sku }}", store_id: "{{ event.store_id }}"}
      timeout: 30d
      on_timeout: [{exit: {reason: not back}}]
  - send: {channel: email, template: back}
`)
	w.track("dan", "Product Viewed", map[string]any{"sku": "SHOE-44", "store_id": "lyon"})
	w.track("eve", "Product Viewed", map[string]any{"sku": "SHOE-45", "store_id": "lyon"})
	w.track("fay", "Product Viewed", map[string]any{"sku": "SHOE-44", "store_id": "lyon"})
	w.at(time.Minute) // they wait
	if err := w.eng.SetStatus(ctx, "bis", journey.StatusPaused); err != nil {
		t.Fatal(err)
	}
	w.at(time.Hour)
	w.backInStock("SHOE-44", "paris")
	w.at(2 * time.Hour)
	if got := w.templates("dan"); len(got) != 0 {
		t.Fatalf("dan was sent %v: SHOE-44 came back in Paris, he waits for Lyon", got)
	}
	w.backInStock("SHOE-44", "lyon")
	w.at(3 * time.Hour)
	if got := w.templates("dan"); len(got) != 0 {
		t.Fatalf("dan was sent %v while the journey is paused", got)
	}
	if err := w.eng.SetStatus(ctx, "bis", journey.StatusLive); err != nil {
		t.Fatal(err)
	}
	w.at(4 * time.Hour)
	for user, want := range map[string]int{"dan": 1, "fay": 1, "eve": 0} {
		if got := w.templates(user); len(got) != want {
			t.Errorf("%s was sent %v, want %d", user, got, want)
		}
	}
}
