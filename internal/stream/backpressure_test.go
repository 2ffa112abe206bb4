package stream

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parcours/parcours/internal/collect"
)

// waitSubmit submits one batch every 50ms until Submit's error matches
// want (nil or not), or fails the test after d.
func waitSubmit(t *testing.T, n *node, prefix string, wantRefused bool, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for i := 0; ; i++ {
		err := n.pub.Submit(context.Background(), batch("src_1", prefix+"-"+time.Now().Format("150405.000000"), 1), nil)
		if err != nil && !errors.Is(err, collect.ErrOverloaded) {
			t.Fatalf("Submit: %v; want nil or ErrOverloaded", err)
		}
		if (err != nil) == wantRefused {
			if err != nil && !errors.Is(err, ErrBehind) {
				t.Fatalf("Submit refused with %v; want ErrBehind", err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Submit still answers %v after %s; want refused=%v", err, d, wantRefused)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A node refuses events (ErrBehind, which the tracking API answers 503
// with Retry-After) while the relay is more messages behind than MaxLag,
// and takes them again once the relay has caught up.
func TestPublisherRefusesWhileTheRelayIsBehind(t *testing.T) {
	natsURL, st := env(t)
	n := newNode(t, st, Options{URL: natsURL, Name: streamName(t), Node: "a", MaxLag: 50})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.pub.WatchLag(ctx, st, n.s.MaxLag())
	if err := n.pub.Submit(ctx, batch("src_1", "first", 60), nil); err != nil {
		t.Fatal(err)
	}
	waitSubmit(t, n, "while-behind", true, 5*time.Second)
	if got := testutil.ToFloat64(n.pub.bp.on); got != 1 {
		t.Errorf("parcours_stream_backpressure = %v while refusing; want 1", got)
	}
	n.startRelay(t)
	waitSubmit(t, n, "caught-up", false, 10*time.Second)
	if got := testutil.ToFloat64(n.pub.bp.refused); got < 1 {
		t.Errorf("parcours_stream_refused_total = %v; want at least 1", got)
	}
}

// The bound by age: a message not relayed for half the retention makes
// the node refuse events, however few are behind; messages the retention
// dropped before the relay copied them are counted as lost, never
// silently skipped.
func TestPublisherRefusesBeforeTheRetentionDropsAnything(t *testing.T) {
	natsURL, st := env(t)
	n := newNode(t, st, Options{URL: natsURL, Name: streamName(t), Node: "a", MaxLag: -1,
		Retention: 2 * time.Second, DedupWindow: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go n.pub.WatchLag(ctx, st, n.s.MaxLag())
	if err := n.pub.Submit(ctx, batch("src_1", "old", 5), nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitSubmit(t, n, "aged", true, 5*time.Second)
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("refused %s after the first unrelayed message; want after half the retention (1s)", took)
	}
	// Nobody relays: the retention drops the messages. The lag says so.
	var l Lag
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var err error
		if l, err = n.s.Lag(ctx, st); err != nil {
			t.Fatal(err)
		}
		if l.Lost >= 5 && l.Lost == l.Messages { // the 5 and those taken until the refusal
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lag = %+v 10s after a 2s retention; want every message lost", l)
		}
	}
	// The relay, started now, counts them lost when it reads past them.
	cancel()
	if err := n.pub.Submit(context.Background(), batch("src_1", "new", 1), nil); err != nil {
		t.Fatalf("Submit once the watch stopped: %v", err)
	}
	n.startRelay(t)
	for deadline := time.Now().Add(10 * time.Second); testutil.ToFloat64(n.relay.lost) != float64(l.Lost); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("parcours_stream_relay_lost_total = %v; want %d", testutil.ToFloat64(n.relay.lost), l.Lost)
		}
	}
}
