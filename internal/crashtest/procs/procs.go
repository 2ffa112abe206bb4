// Package procs starts, for the cluster failure tests (docs/scale.md),
// the real servers a Parcours cluster runs on, on this machine: a 3-server
// NATS JetStream cluster on free loopback ports, and a PostgreSQL instance
// of the test's own (initdb in a temporary directory), each of which the
// test may stop, kill and restart without touching the shared servers
// other tests use.
package procs

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// FreePort returns a loopback TCP port free at the time of the call, below
// the usual ephemeral range (32768 and up): a server restarted by a test
// must find its port again, and an ephemeral port may meanwhile have been
// given to some outgoing connection (a client reconnecting to it).
func FreePort(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer is a process's output, written by exec's copier and read by
// the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// NATSCluster is three nats-server processes clustered with JetStream, with
// their stores in the test's temporary directories.
type NATSCluster struct {
	t      testing.TB
	bin    string
	client []int
	route  []int
	mon    []int
	dirs   []string
	cmds   []*exec.Cmd
	out    []*lockedBuffer // each server's last run's output, for the failure message
}

// StartNATSCluster starts three clustered servers and waits until each
// says it is healthy; it skips the test without a nats-server binary. The
// servers are stopped when the test ends.
func StartNATSCluster(t testing.TB) *NATSCluster {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, err2 := exec.LookPath("/usr/sbin/nats-server"); err2 != nil {
			t.Skip("no nats-server on the PATH: the 3-server cluster tests need it")
		}
		bin = "/usr/sbin/nats-server"
	}
	c := &NATSCluster{t: t, bin: bin, cmds: make([]*exec.Cmd, 3), out: make([]*lockedBuffer, 3)}
	for range 3 {
		c.client = append(c.client, FreePort(t))
		c.route = append(c.route, FreePort(t))
		c.mon = append(c.mon, FreePort(t))
		c.dirs = append(c.dirs, t.TempDir())
	}
	for i := range 3 {
		c.Start(i)
	}
	t.Cleanup(func() {
		for i := range 3 {
			c.Stop(i)
		}
	})
	for i := range 3 {
		c.WaitHealthy(i)
	}
	return c
}

// URL is the client URL list of the three servers.
func (c *NATSCluster) URL() string {
	var us []string
	for _, p := range c.client {
		us = append(us, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	return strings.Join(us, ",")
}

// Start starts server i (0, 1 or 2) on its ports and store.
func (c *NATSCluster) Start(i int) {
	var routes []string
	for j, p := range c.route {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
		}
	}
	cmd := exec.Command(c.bin, "-js", "-sd", c.dirs[i], "-a", "127.0.0.1", "-p", fmt.Sprint(c.client[i]),
		"-m", fmt.Sprint(c.mon[i]), "-n", fmt.Sprintf("n%d", i+1), "--cluster_name", "parcours-test",
		"--cluster", fmt.Sprintf("nats://127.0.0.1:%d", c.route[i]), "--routes", strings.Join(routes, ","))
	c.out[i] = new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = c.out[i], c.out[i]
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.cmds[i] = cmd
}

// Stop stops server i with SIGTERM (SIGKILL after 10 s) and waits for it.
func (c *NATSCluster) Stop(i int) {
	cmd := c.cmds[i]
	if cmd == nil || cmd.ProcessState != nil {
		return
	}
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

// WaitHealthy waits until server i's monitoring port says it is healthy
// (JetStream included), 30 s at most.
func (c *NATSCluster) WaitHealthy(i int) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", c.mon[i]))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("nats-server n%d not healthy within 30s (%v); it said:\n%s", i+1, err, c.out[i])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Restart stops server i, waits down, starts it again and waits until it
// is healthy.
func (c *NATSCluster) Restart(i int, down time.Duration) {
	c.Stop(i)
	time.Sleep(down)
	c.Start(i)
	c.WaitHealthy(i)
}
