package stream

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/crashtest"
)

// natsCluster is three nats-server processes clustered with JetStream, on
// free ports and temporary directories of the test's own.
type natsCluster struct {
	t      *testing.T
	bin    string
	client []int
	cport  []int
	mport  []int
	dirs   []string
	cmds   []*exec.Cmd
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNATSCluster starts three clustered servers; it skips without a
// nats-server binary on the PATH.
func startNATSCluster(t *testing.T) *natsCluster {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("no nats-server on the PATH: the 3-server cluster test needs it")
	}
	c := &natsCluster{t: t, bin: bin}
	for range 3 {
		c.client = append(c.client, freePort(t))
		c.cport = append(c.cport, freePort(t))
		c.mport = append(c.mport, freePort(t))
		c.dirs = append(c.dirs, t.TempDir())
	}
	c.cmds = make([]*exec.Cmd, 3)
	for i := range 3 {
		c.start(i)
	}
	t.Cleanup(func() {
		for i := range 3 {
			c.stop(i)
		}
	})
	for i := range 3 {
		c.waitHealthy(i)
	}
	return c
}

func (c *natsCluster) url() string {
	var us []string
	for _, p := range c.client {
		us = append(us, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	return strings.Join(us, ",")
}

func (c *natsCluster) start(i int) {
	var routes []string
	for j, p := range c.cport {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
		}
	}
	cmd := exec.Command(c.bin, "-js", "-sd", c.dirs[i], "-a", "127.0.0.1", "-p", fmt.Sprint(c.client[i]),
		"-m", fmt.Sprint(c.mport[i]), "-n", fmt.Sprintf("n%d", i+1), "--cluster_name", "parcours-test",
		"--cluster", fmt.Sprintf("nats://127.0.0.1:%d", c.cport[i]), "--routes", strings.Join(routes, ","))
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.cmds[i] = cmd
}

func (c *natsCluster) stop(i int) {
	if cmd := c.cmds[i]; cmd != nil && cmd.ProcessState == nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
}

// waitHealthy waits until server i says JetStream is healthy.
func (c *natsCluster) waitHealthy(i int) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", c.mport[i]))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("nats-server n%d not healthy within 30s (%v)", i+1, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Two nodes on a 3-server NATS cluster, the stream and the leases with 3
// replicas, clients sending all along while each NATS server is restarted
// in turn: every acknowledged event is in the log exactly once, nothing
// else is, and the relay carries on.
func TestNATSServersRestartedOneAtATime(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server processes")
	}
	_, st := env(t) // skips without the env vars (the cluster is the test's own)
	nc := startNATSCluster(t)
	o := Options{URL: nc.url(), Name: streamName(t), Replicas: 3, Node: "a"}
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
		nc.stop(i)
		time.Sleep(2 * time.Second)
		nc.start(i)
		nc.waitHealthy(i)
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
