package stream

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parcours/parcours/internal/event"
)

// A client whose answer was lost resends its batch, to another node: the
// stream drops the repeat within its dedup window (the client is told
// "duplicates"), and the event log drops a repeat sent after the window.
func TestRetryAfterLostAckIsStoredOnce(t *testing.T) {
	natsURL, st := env(t)
	o := Options{URL: natsURL, Name: streamName(t), DedupWindow: 500 * time.Millisecond, Node: "a"}
	a := newNode(t, st, o)
	o.Node = "b"
	b := newNode(t, st, o)
	ctx := context.Background()

	if err := a.pub.Submit(ctx, batch("src_1", "m", 50), nil); err != nil {
		t.Fatal(err)
	}
	// The answer is lost; the client resends to b at once.
	again := batch("src_1", "m", 50)
	if err := b.pub.Submit(ctx, again, nil); err != nil {
		t.Fatal(err)
	}
	for _, e := range again {
		if e.Seq != 0 {
			t.Fatalf("resent %s within the dedup window: stored again at stream sequence %d", e.MessageID, e.Seq)
		}
	}
	// A third time, after the stream's window: the stream stores it, the
	// log's own dedup must drop it when it is relayed.
	time.Sleep(time.Second)
	late := batch("src_1", "m", 50)
	if err := a.pub.Submit(ctx, late, nil); err != nil {
		t.Fatal(err)
	}
	if late[0].Seq == 0 {
		t.Fatal("sent after the dedup window: the stream should have stored it again (the test needs the log's dedup to act)")
	}
	// The same messageId from another source is another event.
	if err := b.pub.Submit(ctx, batch("src_2", "m", 5), nil); err != nil {
		t.Fatal(err)
	}
	b.startRelay(t)
	ids := waitLog(t, st, 55, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // the late repeat is relayed too
	ids = logIDs(t, st)
	want := map[string]bool{}
	for _, e := range append(batch("src_1", "m", 50), batch("src_2", "m", 5)...) {
		want[MsgID(e)] = true
	}
	once(t, ids, want)
	cp, err := st.Checkpoint(ctx, RelayCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	if cp != 105 {
		t.Errorf("relay checkpoint %d; want 105 (50 + 50 late repeats + 5 stream messages)", cp)
	}
}

// Two nodes take requests at once, clients resend some batches to the
// other node, both nodes run the relay: one of them relays, and every
// acknowledged event is in the log once, in stream order.
func TestTwoNodesOneRelayEveryEventOnce(t *testing.T) {
	natsURL, st := env(t)
	o := Options{URL: natsURL, Name: streamName(t), Node: "a"}
	a := newNode(t, st, o)
	o.Node = "b"
	b := newNode(t, st, o)
	nodes := []*node{a, b}
	a.startRelay(t)
	b.startRelay(t)

	const clients, batches, size = 6, 20, 25
	var mu sync.Mutex
	want := map[string]bool{}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := range batches {
				prefix := fmt.Sprintf("c%d-b%d", c, i)
				to := nodes[(c+i)%2]
				evs := batch(fmt.Sprintf("src_%d", c%3), prefix, size)
				if err := to.pub.Submit(context.Background(), evs, []*event.Rejection{{SourceID: "src_0", MessageID: prefix + "-bad", Action: event.Dropped, Code: "missing_field", Reason: "test"}}); err != nil {
					t.Error(err)
					return
				}
				if i%4 == 0 { // the answer was lost: resent to the other node
					if err := nodes[(c+i+1)%2].pub.Submit(context.Background(), batch(fmt.Sprintf("src_%d", c%3), prefix, size), nil); err != nil {
						t.Error(err)
						return
					}
				}
				mu.Lock()
				for _, e := range evs {
					want[MsgID(e)] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	ids := waitLog(t, st, clients*batches*size, 20*time.Second)
	once(t, ids, want)
	if got := streamOrder(t, a); !slices.Equal(ids, got) {
		t.Errorf("the log's order is not the stream's (%d in the log, %d in the stream)", len(ids), len(got))
	}
	owners := 0
	for _, n := range nodes {
		if n.owner() {
			owners++
		}
	}
	if owners != 1 {
		t.Errorf("%d nodes run the relay; want 1", owners)
	}
	if n := countRejections(t, st); n != clients*batches {
		t.Errorf("%d rejections in the store; want %d (one per request)", n, clients*batches)
	}
}

// The node running the relay dies (its connection cut, its lease never
// released): another node takes the relay over within 10 seconds, and
// what was acknowledged meanwhile reaches the log once.
func TestRelayOwnerDiesAnotherTakesOverWithin10s(t *testing.T) {
	natsURL, st := env(t)
	o := Options{URL: natsURL, Name: streamName(t), Node: "a"}
	a := newNode(t, st, o)
	a.startRelay(t)
	waitFor(t, 5*time.Second, "node a runs the relay", a.owner)
	o.Node = "b"
	b := newNode(t, st, o)
	b.startRelay(t)
	ctx := context.Background()
	if err := b.pub.Submit(ctx, batch("src_1", "before", 40), nil); err != nil {
		t.Fatal(err)
	}
	waitLog(t, st, 40, 5*time.Second)
	if b.owner() {
		t.Fatal("node b runs the relay while a holds the lease")
	}

	a.s.nc.Close() // a dies: no release, the lease expires by itself
	died := time.Now()
	if err := b.pub.Submit(ctx, batch("src_1", "after", 40), nil); err != nil {
		t.Fatal(err)
	}
	ids := waitLog(t, st, 80, 15*time.Second)
	took := time.Since(died)
	want := map[string]bool{}
	for _, e := range append(batch("src_1", "before", 40), batch("src_1", "after", 40)...) {
		want[MsgID(e)] = true
	}
	once(t, ids, want)
	if took > 10*time.Second {
		t.Errorf("node b relayed the events %s after a died; want within 10s", took.Round(time.Millisecond))
	}
	if !b.owner() {
		t.Error("node b does not run the relay after a died")
	}
	if got := testutil.ToFloat64(b.s.leaseEvents.WithLabelValues(RelayLease, "acquired")); got != 1 {
		t.Errorf("node b counted %v acquisitions of the relay lease; want 1", got)
	}
	if got := testutil.ToFloat64(b.s.leaseHeld.WithLabelValues(RelayLease)); got != 1 {
		t.Errorf("node b's parcours_cluster_lease_held{lease=relay} = %v; want 1", got)
	}
	t.Logf("takeover: the events acknowledged after a died were in the log %s later", took.Round(time.Millisecond))
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
