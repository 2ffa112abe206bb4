package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/crashtest"
	"github.com/parcours/parcours/internal/crashtest/procs"
	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/stream"
)

// The cluster failure tests (issue 18.5, docs/scale.md "Failure tests"):
// three `serve` processes on a 3-server NATS JetStream cluster (stream and
// leases with 3 replicas) and PostgreSQL, clients posting events, asking
// for emails and reserving stock through every node all along, while a
// fault is injected. After each fault the load stops, the cluster is given
// time to catch up, and crashtest.Ledger compares what every client was
// told with what the cluster holds: every acknowledged event in the log
// once and in the profiles' timelines once, no email delivered twice (a
// real SMTP server counts them by send key), no reservation oversold; and
// `parcours cluster status` must show three live nodes, the pipeline held,
// nothing behind.

const faultsOnHand = 200 // pairs of SHOE-42 at lyon: fewer than the clients ask for

// faultCluster is the cluster under test.
type faultCluster struct {
	t      *testing.T
	nats   *procs.NATSCluster
	pg     *procs.Postgres // nil: the shared server, a schema of the test's own
	e      engine
	name   string // the stream
	dirs   [3]string
	flags  []string
	src    *source.Source
	admin  string
	sink   *smtpSink
	ledger *crashtest.Ledger

	progress string // what holdings saw last
	// partitions is the segment stage's --partitions (0: not
	// partitioned): holdings waits for every partition too.
	partitions int

	mu    sync.Mutex
	nodes [3]*node
	down  [3]bool // not to be sent requests (killed, paused)
}

func startFaultCluster(t *testing.T, privatePG bool) *faultCluster {
	t.Helper()
	return startFaultClusterWith(t, privatePG, 0)
}

// startFaultClusterWith starts the cluster with the segment stage split
// into partitions (0: not).
func startFaultClusterWith(t *testing.T, privatePG bool, partitions int) *faultCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts NATS, PostgreSQL and server processes")
	}
	if os.Getenv("PARCOURS_TEST_NATS_URL") == "" || os.Getenv("PARCOURS_TEST_POSTGRES_URL") == "" {
		t.Skip("PARCOURS_TEST_NATS_URL and PARCOURS_TEST_POSTGRES_URL not both set")
	}
	c := &faultCluster{t: t, ledger: crashtest.NewLedger(), name: "F_" + strings.ToUpper(rand.Text()[:12])}
	if privatePG {
		c.pg = procs.StartPostgres(t)
		c.e = engine{name: "PostgreSQL", database: c.pg.URL()}
	} else {
		c.e = engine{name: "PostgreSQL"}.prepare(t)
		c.e.app = "" // several processes share it; kills do not wait for sessions
	}
	c.nats = procs.StartNATSCluster(t)
	ctx := context.Background()
	for i := range c.dirs {
		c.dirs[i] = t.TempDir()
	}
	st := c.e.open(t, c.dirs[0])
	c.src, _ = source.New("Web shop", "web", "", time.Now())
	if err := st.CreateSource(ctx, c.src); err != nil {
		t.Fatal(err)
	}
	seedCustomers(t, st, 40)
	svc := commerce.New(st, commerce.Options{})
	if err := svc.UpsertProducts(ctx, []*commerce.Product{{ID: "shoe", Name: "Shoe",
		Variants: []commerce.Variant{{SKU: "SHOE-42", Price: 90, Currency: "EUR"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.UpsertLocations(ctx, []*commerce.Location{{ID: "lyon", Name: "Lyon", Lat: 45.76, Lon: 4.83, TimeZone: "Europe/Paris",
		Capabilities: []string{commerce.CapClickCollect}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStock(ctx, []commerce.StockLevel{{SKU: "SHOE-42", Location: "lyon", OnHand: faultsOnHand}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	c.sink = startSMTPSink(t, 5*time.Millisecond)
	providersFile := filepath.Join(t.TempDir(), "providers.yaml")
	if err := os.WriteFile(providersFile, fmt.Appendf(nil, `providers:
  - name: relay
    type: smtp
    rate_per_second: 400
    settings:
      host: 127.0.0.1
      port: %d
      tls: none
      from: "Boutique <shop@shop.example>"
      message_id_domain: shop.example
      pool_size: 8
`, c.sink.port), 0o600); err != nil {
		t.Fatal(err)
	}
	// The stream with 3 replicas, once the new cluster has elected its
	// JetStream leaders.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		s, err := stream.Connect(ctx, stream.Options{URL: c.nats.URL(), Name: c.name, Replicas: 3, Node: "probe"})
		if err == nil {
			s.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the 3-server NATS cluster never took a stream with 3 replicas: %v", err)
		}
	}
	c.flags = []string{"--nats", c.nats.URL(), "--nats-stream", c.name, "--nats-replicas", "3",
		"--providers", providersFile, "--public-url", "https://crm.shop.example"}
	if partitions > 0 {
		c.partitions = partitions
		c.flags = append(c.flags, "--partitions", strconv.Itoa(partitions))
	}
	c.nodes[0] = startNode(t, c.dirs[0], c.e, c.flags...)
	waitMetric(t, c.nodes[0].url, "parcours_stream_relay_owner 1", 15*time.Second)
	c.admin = adminKey(t, c.dirs[0])
	for i := 1; i < 3; i++ {
		c.nodes[i] = startNode(t, c.dirs[i], c.e, c.flags...)
	}
	return c
}

// pick returns the URL of a live node, round robin by i.
func (c *faultCluster) pick(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range 3 {
		j := (i + k) % 3
		if !c.down[j] && c.nodes[j] != nil {
			return c.nodes[j].url
		}
	}
	return c.nodes[0].url
}

// owner returns the index of the node running the pipeline, waiting up to d.
func (c *faultCluster) owner(d time.Duration) int {
	c.t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		for i := range 3 {
			c.mu.Lock()
			n, down := c.nodes[i], c.down[i]
			c.mu.Unlock()
			if n == nil || down {
				continue
			}
			if hasMetric(n.url, "parcours_stream_relay_owner 1") {
				return i
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no live node runs the pipeline %s on", d)
		}
	}
}

func hasMetric(url, line string) bool {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get(url + "/metrics")
	if err != nil {
		return false
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return strings.Contains(string(b), "\n"+line+"\n")
}

// load is the clients of one phase: 3 posting events, one asking for
// emails, one reserving stock, each request to the next live node.
type load struct {
	stop atomic.Bool
	wg   sync.WaitGroup
}

var faultClient = &http.Client{Timeout: 10 * time.Second}

func (c *faultCluster) startLoad(phase string) *load {
	l := &load{}
	outcome := func(code int, err error, ok ...int) crashtest.Outcome {
		switch {
		case err != nil || code >= 500:
			return crashtest.Unknown
		case code == ok[0] || len(ok) > 1 && code == ok[1]:
			return crashtest.Acked
		}
		return crashtest.Refused
	}
	for w := range 3 {
		l.wg.Go(func() {
			for i := 0; !l.stop.Load(); i++ {
				ids := make([]string, 10)
				for j := range ids {
					ids[j] = fmt.Sprintf("%s-w%d-%d-%d", phase, w, i, j)
				}
				code, err := postTrackBatchWith(faultClient, c.pick(w+i), c.src.WriteKey, ids)
				o := outcome(code, err, http.StatusOK)
				for _, id := range ids {
					c.ledger.Events.Record(id, o)
				}
				time.Sleep(100 * time.Millisecond) // the checks need keys, not volume
			}
		})
	}
	l.wg.Go(func() {
		for i := 0; !l.stop.Load(); i++ {
			key := fmt.Sprintf("%s-s%d", phase, i)
			body := fmt.Sprintf(`{"profile_id":%d,"channel":"email","topic":"newsletter","idempotency_key":%q,
				"content":{"email":{"subject":"Nouveautés %s","html":"<p>Bonjour.</p>"}}}`, 1+i%40, key, key)
			code, err := c.api(c.pick(i), "POST", "/api/v1/messages", body, "")
			c.ledger.Sends.Record(key, outcome(code, err, http.StatusAccepted))
			time.Sleep(60 * time.Millisecond)
		}
	})
	l.wg.Go(func() {
		for i := 0; !l.stop.Load(); i++ {
			key := fmt.Sprintf("%s-r%d", phase, i)
			body := `{"sku":"SHOE-42","location_id":"lyon","quantity":1,"ttl":"2h","customer":{"user_id":"` + key + `"}}`
			code, err := c.api(c.pick(i+1), "POST", "/api/v1/reservations", body, key)
			o := outcome(code, err, http.StatusCreated, http.StatusOK)
			if o == crashtest.Refused && code != http.StatusConflict {
				c.t.Errorf("reserve %s: %d", key, code)
			}
			c.ledger.Reservations.Record(key, o)
			time.Sleep(60 * time.Millisecond)
		}
	})
	return l
}

func (l *load) end() { l.stop.Store(true); l.wg.Wait() }

func (c *faultCluster) api(url, method, path, body, idem string) (int, error) {
	req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.admin)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := faultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// postTrackBatchWith is postTrackBatch with a client of its own (a
// timeout: a paused node accepts connections and answers nothing).
func postTrackBatchWith(cl *http.Client, url, writeKey string, ids []string) (int, error) {
	var sb strings.Builder
	sb.WriteString(`{"batch":[`)
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"track","userId":"u-%d","event":"Product Viewed","messageId":"%s","properties":{"sku":"SHOE-42"}}`, 1+i%40, id)
	}
	sb.WriteString(`]}`)
	req, _ := http.NewRequest("POST", url+"/v1/batch", bytes.NewReader([]byte(sb.String())))
	req.SetBasicAuth(writeKey, "")
	resp, err := cl.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// holdings reads what the cluster holds, and whether the pipeline has
// caught up (unify past the log's end, no message waiting).
func (c *faultCluster) holdings() (crashtest.Holdings, bool) {
	c.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.e.database)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(ctx)
	h := crashtest.Holdings{Stored: map[string]int{}, Processed: map[string]int{}, Delivered: map[string]int{}, Reserved: map[string]int{}}
	// profile_events has no index on seq alone: one hash join, not a
	// lookup per event.
	rows, err := conn.Query(ctx, `SELECT e.message_id, count(pe.seq) FROM events e LEFT JOIN profile_events pe ON pe.seq = e.seq
		WHERE e.source_id = $1 GROUP BY e.seq, e.message_id`, c.src.ID)
	if err != nil {
		c.t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			c.t.Fatal(err)
		}
		h.Stored[id]++
		if n > 0 {
			h.Processed[id] += n
		}
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	var last, unify int64
	var waiting int
	if err := conn.QueryRow(ctx, `SELECT COALESCE(max(seq), 0), COALESCE((SELECT seq FROM checkpoints WHERE consumer = 'unify'), 0),
		(SELECT count(*) FROM outbox WHERE status NOT IN ('sent', 'failed', 'skipped')) FROM events`).Scan(&last, &unify, &waiting); err != nil {
		c.t.Fatal(err)
	}
	byMessageID := map[string]string{}
	for _, k := range append(c.ledger.Sends.Keys(crashtest.Acked), c.ledger.Sends.Keys(crashtest.Unknown)...) {
		byMessageID[email.MessageID("api:"+k, "shop.example")] = k
	}
	for id, n := range c.sink.counts() {
		k, ok := byMessageID[id]
		if !ok {
			k = "unknown Message-ID " + id
		}
		h.Delivered[k] += n
	}
	rows, err = conn.Query(ctx, `SELECT customer->>'user_id', status, quantity FROM reservations WHERE sku = 'SHOE-42'`)
	if err != nil {
		c.t.Fatal(err)
	}
	for rows.Next() {
		var k, status string
		var q int64
		if err := rows.Scan(&k, &status, &q); err != nil {
			c.t.Fatal(err)
		}
		h.Reserved[k]++
		if status == string(commerce.ReservationActive) {
			h.ActiveQuantity += q
		}
	}
	if err := conn.QueryRow(ctx, `SELECT on_hand, reserved FROM stock WHERE sku = 'SHOE-42' AND location_id = 'lyon'`).Scan(&h.OnHand, &h.StockReserved); err != nil {
		c.t.Fatal(err)
	}
	var relayed int64
	_ = conn.QueryRow(ctx, `SELECT seq FROM checkpoints WHERE consumer = 'stream-relay'`).Scan(&relayed)
	c.progress = fmt.Sprintf("log at %d, unify at %d, relay at %d, %d messages not final", last, unify, relayed, waiting)
	caughtUp := unify >= last && waiting == 0
	if c.partitions > 0 {
		var low int64
		var n int
		if err := conn.QueryRow(ctx, `SELECT COALESCE(min(seq), 0), count(*) FROM checkpoints WHERE consumer LIKE 'segment.p%'`).Scan(&low, &n); err != nil {
			c.t.Fatal(err)
		}
		c.progress += fmt.Sprintf(", %d of %d partitions started, the slowest at %d", n, c.partitions, low)
		caughtUp = caughtUp && n == c.partitions && low >= last
	}
	return h, caughtUp
}

// settle ends the phase's load, waits (60 s at most) until the pipeline
// has caught up with every acknowledged event and message, and checks the
// ledger and the cluster's health.
func (c *faultCluster) settle(phase string, l *load) {
	c.t.Helper()
	l.end()
	var r crashtest.LedgerReport
	start := time.Now()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		h, caughtUp := c.holdings()
		r = c.ledger.Check(h, c.sentKeys(), 0)
		if caughtUp && r.Err() == nil {
			break
		}
		if time.Now().After(deadline) {
			if os.Getenv("PARCOURS_TEST_FAULT_LOGS") != "" { // goroutine dumps into the logs
				c.mu.Lock()
				for _, n := range c.nodes {
					if n != nil && n.cmd.ProcessState == nil {
						_ = n.cmd.Process.Signal(syscall.SIGQUIT)
					}
				}
				c.mu.Unlock()
				time.Sleep(2 * time.Second)
			}
			c.t.Fatalf("%s: 60s after the load stopped (caught up: %v: %s):\n%v\n%s\nnodes said:\n%s", phase, caughtUp, c.progress, r.Err(), r, c.logs())
		}
	}
	c.t.Logf("%s: caught up %s after the load stopped\n%s", phase, time.Since(start).Round(10*time.Millisecond), r)
	c.healthy(phase)
}

// sentKeys is mustArrive: the keys whose message the outbox says was sent
// (a marketing email in doubt at a kill is failed, never resent).
func (c *faultCluster) sentKeys() func(string) bool {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.e.database)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close(ctx)
	sent := map[string]bool{}
	rows, err := conn.Query(ctx, `SELECT send_key FROM outbox WHERE status = 'sent'`)
	if err != nil {
		c.t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			c.t.Fatal(err)
		}
		sent[strings.TrimPrefix(k, "api:")] = true
	}
	return func(k string) bool { return sent[k] }
}

// healthy checks that cluster status shows the three nodes live, one of
// them holding the pipeline, nothing behind.
func (c *faultCluster) healthy(phase string) {
	c.t.Helper()
	ids := map[string]bool{}
	for _, d := range c.dirs {
		ids[nodeID(c.t, d)] = true
	}
	var out, errs bytes.Buffer
	restarted := false
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		out.Reset()
		errs.Reset()
		if code := Main([]string{"cluster", "status", "--database", c.e.database, "--nats", c.nats.URL(), "--nats-stream", c.name, "--json"}, &out, &errs); code != 0 {
			c.t.Fatalf("%s: cluster status: exit %d: %s", phase, code, errs.String())
		}
		var got struct {
			Cluster   stream.Status `json:"cluster"`
			UnifyLag  int64         `json:"unify_lag"`
			FenceNode string        `json:"fence_node"`
			// With --partitions: each one held by a live node, none behind.
			Partitions []struct {
				Node   string `json:"node"`
				Live   bool   `json:"live"`
				Behind int64  `json:"behind"`
			} `json:"partitions"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			c.t.Fatalf("cluster status --json: %v: %s", err, out.String())
		}
		s := got.Cluster
		live := 0
		for _, n := range s.Nodes {
			if ids[n.Node] {
				live++
			}
		}
		parts := len(got.Partitions) == c.partitions
		for _, p := range got.Partitions {
			parts = parts && p.Live && ids[p.Node] && p.Behind == 0
		}
		if parts && live == 3 && len(s.Nodes) == 3 && ids[s.Leases[server.PipelineLease]] && got.FenceNode == s.Leases[server.PipelineLease] && s.Lag == 0 && got.UnifyLag == 0 && s.Replicas == 3 {
			return
		}
		if time.Now().After(deadline) {
			// A node that lost the pipeline lease exits by design, and its
			// supervisor (systemd's Restart=always, docs/scale.md) starts it
			// again: play the supervisor once, for the nodes whose process
			// is gone, then ask again.
			if !restarted && c.restartExited(phase) {
				restarted, deadline = true, time.Now().Add(30*time.Second)
				continue
			}
			c.t.Fatalf("%s: cluster status 15s after catching up: %s; want 3 live nodes, the pipeline held and fenced by the same node, every partition held by a live node, nothing behind, 3 replicas\nnodes said:\n%s", phase, out.String(), c.logs())
		}
	}
}

// restartExited starts again the nodes that are not down on purpose but
// whose process no longer answers, after checking that each said it lost
// the pipeline lease (any other exit fails the test). It reports whether
// it restarted any.
func (c *faultCluster) restartExited(phase string) bool {
	c.t.Helper()
	any := false
	for i := range c.nodes {
		c.mu.Lock()
		n, down := c.nodes[i], c.down[i]
		c.mu.Unlock()
		if n == nil || down {
			continue
		}
		client := &http.Client{Timeout: 2 * time.Second}
		if res, err := client.Get(n.url + "/readyz"); err == nil {
			res.Body.Close()
			continue
		}
		if !strings.Contains(n.log(), "lost the pipeline lease") {
			c.t.Fatalf("%s: node %d stopped answering without having lost the pipeline lease; it said:\n%s", phase, i, n.log())
		}
		c.t.Logf("%s: node %d lost the pipeline lease and exited; restarting it as its supervisor would", phase, i)
		c.restart(i)
		any = true
	}
	return any
}

func (c *faultCluster) logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sb strings.Builder
	for i, n := range c.nodes {
		if n != nil {
			var keep []string
			for _, line := range strings.Split(n.log(), "\n") {
				if !strings.Contains(line, "http: request failed") && !strings.Contains(line, "write key lookup failed") &&
					!strings.Contains(line, "cannot read the relay's lag") {
					keep = append(keep, line)
				}
			}
			l := strings.Join(keep, "\n")
			if d := os.Getenv("PARCOURS_TEST_FAULT_LOGS"); d != "" {
				_ = os.WriteFile(filepath.Join(d, fmt.Sprintf("node-%d.log", i)), []byte(n.log()), 0o644)
			}
			if len(l) > 3000 {
				l = "…" + l[len(l)-3000:]
			}
			fmt.Fprintf(&sb, "node %d: %s\n", i, l)
		}
	}
	return sb.String()
}

// takeover waits until a node other than from runs the pipeline, and
// returns which and how long after since.
func (c *faultCluster) takeover(from int, since time.Time) (int, time.Duration) {
	c.t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		for i := range 3 {
			if i == from {
				continue
			}
			c.mu.Lock()
			n := c.nodes[i]
			c.mu.Unlock()
			if hasMetric(n.url, "parcours_stream_relay_owner 1") {
				return i, time.Since(since)
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no other node took the pipeline over within 20s of losing node %d:\n%s", from, c.logs())
		}
	}
}

// restart starts node i again on its data directory.
func (c *faultCluster) restart(i int) {
	c.t.Helper()
	n := startNode(c.t, c.dirs[i], c.e, c.flags...)
	c.mu.Lock()
	c.nodes[i], c.down[i] = n, false
	c.mu.Unlock()
}

// TestClusterFaultsNATSRestartsAndKill: the three NATS servers restarted
// one at a time under load, then the node running the pipeline killed
// with SIGKILL under load and restarted; the ledger checked after each.
func TestClusterFaultsNATSRestartsAndKill(t *testing.T) {
	c := startFaultCluster(t, false)

	l := c.startLoad("nats")
	time.Sleep(2 * time.Second)
	for i := range 3 {
		c.nats.Restart(i, time.Second)
		time.Sleep(time.Second)
	}
	c.settle("NATS servers restarted one at a time", l)

	l = c.startLoad("kill")
	time.Sleep(2 * time.Second)
	o := c.owner(5 * time.Second)
	c.mu.Lock()
	c.down[o] = true
	victim := c.nodes[o]
	c.mu.Unlock()
	_ = victim.cmd.Process.Signal(syscall.SIGKILL)
	_ = victim.cmd.Wait()
	killed := time.Now()
	to, took := c.takeover(o, killed)
	if took > 10*time.Second {
		t.Errorf("node %d took the pipeline over %s after node %d was killed; want within 10s", to, took.Round(time.Millisecond), o)
	}
	time.Sleep(time.Second)
	c.restart(o)
	c.settle("the pipeline's node killed (SIGKILL) and restarted", l)
	t.Logf("failover after SIGKILL: node %d ran the pipeline %s after node %d died", to, took.Round(time.Millisecond), o)
}

// TestClusterFaultsPause: the node running the pipeline paused (SIGSTOP)
// past its lease under load, then resumed: the new owner fenced it, it
// exits when it notices (and is restarted); the ledger checked after.
func TestClusterFaultsPause(t *testing.T) {
	c := startFaultCluster(t, false)

	l := c.startLoad("pause")
	time.Sleep(2 * time.Second)
	o := c.owner(5 * time.Second)
	c.mu.Lock()
	c.down[o] = true
	paused := c.nodes[o]
	c.mu.Unlock()
	exited := make(chan error, 1)
	go func() { exited <- paused.cmd.Wait() }()
	if err := paused.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	to, took := c.takeover(o, at)
	if took > 10*time.Second {
		t.Errorf("node %d took the pipeline over %s after node %d was paused; want within 10s", to, took.Round(time.Millisecond), o)
	}
	// The new owner fenced the old one before starting its stages.
	st := c.e.open(t, c.dirs[to])
	holder, token, err := st.(interface {
		FenceHolder(context.Context) (string, string, error)
	}).FenceHolder(context.Background())
	st.Close()
	if err != nil || holder != nodeID(t, c.dirs[to]) {
		t.Errorf("the fence names %q (%s, %v); want the new owner %s", holder, token, err, nodeID(t, c.dirs[to]))
	}
	time.Sleep(2 * time.Second) // the old owner stays paused past the takeover
	if err := paused.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err == nil || !strings.Contains(paused.log(), "lost the pipeline lease") {
			t.Errorf("the paused node exited with %v after it resumed; want an error saying it lost the pipeline lease; it said: %s", err, paused.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the paused node still runs 30s after it resumed without its lease; it said: %s", paused.log())
	}
	fenced := strings.Count(paused.log(), "fenced")
	c.restart(o)
	c.settle("the pipeline's node paused (SIGSTOP) past its lease and resumed", l)
	t.Logf("failover after SIGSTOP: node %d ran the pipeline %s after node %d was paused; the paused node logged %d fenced writes when it resumed", to, took.Round(time.Millisecond), o, fenced)

}

// TestClusterFaultsPostgresRestart: PostgreSQL (a private instance) crashed
// and restarted under load; the ledger checked after.
func TestClusterFaultsPostgresRestart(t *testing.T) {
	c := startFaultCluster(t, true)
	l := c.startLoad("postgres")
	time.Sleep(2 * time.Second)
	down := time.Now()
	c.pg.Restart(2 * time.Second)
	t.Logf("PostgreSQL crashed (immediate stop) and was back %s later", time.Since(down).Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	c.settle("PostgreSQL crashed and restarted", l)
}

// metricValue reads one unlabelled metric of a node; ok false if the node
// does not answer or has no such metric.
func metricValue(url, name string) (float64, bool) {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get(url + "/metrics")
	if err != nil {
		return 0, false
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// partitionsHeld returns how many partitions each node holds (-1: down).
func (c *faultCluster) partitionsHeld() [3]int {
	var out [3]int
	for i := range 3 {
		c.mu.Lock()
		n, down := c.nodes[i], c.down[i]
		c.mu.Unlock()
		out[i] = -1
		if n == nil || down {
			continue
		}
		if v, ok := metricValue(n.url, "parcours_partitions_held"); ok {
			out[i] = int(v)
		}
	}
	return out
}

// TestClusterFaultsPartitionsKill: the segment stage split into 6
// partitions shared by the 3 nodes; a node that holds partitions but not
// the pipeline is killed (SIGKILL) under load: the two others take its
// partitions within 10 s, and once it is restarted the partitions are
// shared again; every acknowledged event is segmented, the ledger checked.
func TestClusterFaultsPartitionsKill(t *testing.T) {
	const parts = 6
	c := startFaultClusterWith(t, false, parts)
	shared := func(within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for deadline := start.Add(within); ; time.Sleep(50 * time.Millisecond) {
			h := c.partitionsHeld()
			if h == [3]int{2, 2, 2} {
				return time.Since(start)
			}
			if time.Now().After(deadline) {
				t.Fatalf("the partitions are not shared 2/2/2 within %s: %v\n%s", within, h, c.logs())
			}
		}
	}
	shared(30 * time.Second)
	// /readyz names the partitions each node runs.
	for i := range 3 {
		resp, err := faultClient.Get(c.nodes[i].url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		var ready struct {
			Partitions struct {
				Total int   `json:"total"`
				Held  []int `json:"held"`
			} `json:"partitions"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ready)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || ready.Partitions.Total != parts || len(ready.Partitions.Held) != 2 {
			t.Fatalf("node %d: /readyz %d %v: partitions %+v, want 2 of %d", i, resp.StatusCode, err, ready.Partitions, parts)
		}
	}
	l := c.startLoad("partitions")
	time.Sleep(2 * time.Second)
	victim := (c.owner(5*time.Second) + 1) % 3
	c.mu.Lock()
	c.down[victim] = true
	n := c.nodes[victim]
	c.mu.Unlock()
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	_ = n.cmd.Wait()
	killed := time.Now()
	var took time.Duration
	for deadline := killed.Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		h := c.partitionsHeld()
		sum := 0
		for _, v := range h {
			sum += max(v, 0)
		}
		if sum == parts {
			took = time.Since(killed)
			t.Logf("partitions after the kill of node %d: %v", victim, h)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d's partitions not taken over within 20 s: %v\n%s", victim, h, c.logs())
		}
	}
	if took > 10*time.Second {
		t.Errorf("node %d's partitions were taken over %s after it was killed; want within 10 s", victim, took.Round(time.Millisecond))
	}
	t.Logf("failover of partitions after SIGKILL: %s", took.Round(time.Millisecond))
	c.restart(victim)
	back := shared(30 * time.Second)
	t.Logf("partitions shared 2/2/2 again %s after the restart", back.Round(time.Millisecond))
	c.settle("a partitions' node killed (SIGKILL) and restarted", l)
}
