package stream

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/crashtest"
	"github.com/parcours/parcours/internal/crashtest/procs"
)

// Two nodes on a 3-server NATS cluster, the stream and the leases with 3
// replicas, clients sending all along while each NATS server is restarted
// in turn: every acknowledged event is in the log exactly once, nothing
// else is, and the relay carries on.
func TestNATSServersRestartedOneAtATime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server processes")
	}
	_, st := env(t) // skips without the env vars (the cluster is the test's own)
	nc := procs.StartNATSCluster(t)
	o := Options{URL: nc.URL(), Name: streamName(t), Replicas: 3, Node: "a"}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		s, err := Connect(context.Background(), Options{URL: o.URL, Name: o.Name, Replicas: 3, Node: "probe", Logger: quiet()})
		if err == nil {
			s.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 3-server cluster never took a stream with 3 replicas: %v", err)
		}
	}
	a := newNode(t, st, o)
	o.Node = "b"
	b := newNode(t, st, o)
	a.startRelay(t)
	b.startRelay(t)

	h := crashtest.New()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				to := []*node{a, b}[(w+i)%2]
				evs := batch("src_1", fmt.Sprintf("w%d-b%d", w, i), 20)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := to.pub.Submit(ctx, evs, nil)
				cancel()
				o := crashtest.Acked
				if err != nil {
					o = crashtest.Unknown
				}
				for _, e := range evs {
					h.Record(MsgID(e), o)
				}
				if err != nil {
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	time.Sleep(2 * time.Second)
	for i := range 3 {
		nc.Stop(i)
		time.Sleep(2 * time.Second)
		nc.Start(i)
		nc.WaitHealthy(i)
		time.Sleep(2 * time.Second)
	}
	stop.Store(true)
	wg.Wait()

	acked, unknown, _ := h.Counts()
	var r crashtest.Report
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		stored := map[string]int{}
		for _, id := range logIDs(t, st) {
			stored[id]++
		}
		r = h.CheckStored(stored)
		if r.Err() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("60s after the last restart: %v (%s)", r.Err(), r)
		}
	}
	if acked < 1000 {
		t.Errorf("only %d events acknowledged across the restarts", acked)
	}
	t.Logf("3 NATS servers restarted in turn under load: %d acknowledged, %d without an answer; %s", acked, unknown, r)
}
