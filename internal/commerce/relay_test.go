package commerce_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
)

// flakySink refuses every Submit while down, as a committer does when it
// is overloaded, shutting down, or its disk is failing.
type flakySink struct {
	mu     sync.Mutex
	down   bool
	failed int
	got    map[string]int // message id → times received
}

func (f *flakySink) Submit(_ context.Context, evs []*event.Event, _ []*event.Rejection) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		f.failed++
		return errors.New("committer: disk I/O error")
	}
	for _, e := range evs {
		f.got[e.MessageID]++
	}
	return nil
}

func (f *flakySink) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func (f *flakySink) count(id string) (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.got[id], f.failed
}

// TestRelaySurvivesAFailingSink changes orders while the Sink fails: the
// changes commit, their events wait in the outbox, and the relay delivers
// each exactly once when the Sink recovers, without another change to wake
// it (the poll).
func TestRelaySurvivesAFailingSink(t *testing.T) {
	svc0, _, _ := newService(t) // a store with a catalog, locations and stock
	st := svc0.Store()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sk := &flakySink{got: map[string]int{}}
	svc := commerce.New(st, commerce.Options{Clock: clock.NewFake(t0), Sink: sk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, err := svc.Deliver(ctx); err != nil { // what newService's changes left
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); svc.RunRelay(ctx, 50*time.Millisecond) }()

	sk.set(true)
	o, err := svc.PlaceOrder(ctx, &commerce.Order{Channel: "web", Fulfilment: commerce.ClickCollect, Location: "lyon", Currency: "EUR",
		Customer: commerce.Customer{UserID: "sophie"}, Lines: []commerce.Line{{SKU: "SHOE-42", Quantity: 1}}})
	if err != nil {
		t.Fatalf("PlaceOrder with the Sink down: %v (the change must not depend on the log)", err)
	}
	if _, err := svc.Transition(ctx, o.ID, commerce.Confirmed, ""); err != nil {
		t.Fatal(err)
	}
	ids := []string{"commerce-order-" + o.ID + "-placed", "commerce-order-" + o.ID + "-confirmed"}
	waitUntil(t, "the relay to try and fail", func() bool { _, failed := sk.count(ids[0]); return failed >= 2 })
	pending, err := st.Outbox(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var inOutbox []string
	for _, e := range pending {
		inOutbox = append(inOutbox, e.Event.MessageID)
	}
	if len(inOutbox) < 2 || inOutbox[0] != ids[0] || inOutbox[len(inOutbox)-1] != ids[1] {
		t.Fatalf("outbox while the Sink is down = %v, want %v first and last", inOutbox, ids)
	}
	if got, _ := st.Order(ctx, o.ID); got.Status != commerce.Confirmed {
		t.Fatalf("order is %s", got.Status)
	}

	sk.set(false) // no change follows: the poll must deliver
	waitUntil(t, "the outbox to drain", func() bool { es, err := st.Outbox(ctx, 1); return err == nil && len(es) == 0 })
	for _, id := range ids {
		if n, _ := sk.count(id); n != 1 {
			t.Fatalf("%s delivered %d times, want 1", id, n)
		}
	}
	cancel()
	<-done
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
