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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parcours/parcours/internal/crashtest"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/stream"
	"github.com/parcours/parcours/internal/unify"
)

// TestClusterKillsThePipelineOwner runs two `serve` nodes on one PostgreSQL
// schema and one JetStream stream, with clients posting batches to both;
// it kills the node holding the pipeline lease with SIGKILL. The other node
// must take the relay and the stages over within 10 seconds, and the log
// must hold every acknowledged event exactly once (the history checker),
// each unified.
func TestClusterKillsThePipelineOwner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	natsURL := os.Getenv("PARCOURS_TEST_NATS_URL")
	if natsURL == "" || os.Getenv("PARCOURS_TEST_POSTGRES_URL") == "" {
		t.Skip("PARCOURS_TEST_NATS_URL and PARCOURS_TEST_POSTGRES_URL not both set")
	}
	ctx := context.Background()
	e := engine{name: "PostgreSQL"}.prepare(t)
	name := "T_" + strings.ToUpper(rand.Text()[:12])
	t.Cleanup(func() { dropStream(natsURL, name) })
	dirA, dirB := t.TempDir(), t.TempDir()
	st := e.open(t, dirA)
	src, _ := source.New("Web shop", "web", "", time.Now())
	if err := st.CreateSource(ctx, src); err != nil {
		t.Fatal(err)
	}
	st.Close()
	flags := []string{"--nats", natsURL, "--nats-stream", name}
	a := startNode(t, dirA, e, flags...)
	waitMetric(t, a.url, "parcours_stream_relay_owner 1", 10*time.Second)
	eb := e
	eb.app += "-b" // a's kill waits for a's sessions only
	b := startNode(t, dirB, eb, flags...)

	// A client whose answer from a was lost resends to b: told duplicates,
	// stored once (checked with the rest below).
	retry := []string{"retry-0", "retry-1", "retry-2"}
	for i, to := range []*node{a, b} {
		body := answer(t, to.url, src.WriteKey, retry)
		want := `"stored":3,"duplicates":0`
		if i == 1 {
			want = `"stored":0,"duplicates":3`
		}
		if !strings.Contains(body, want) {
			t.Fatalf("batch sent to node %d: %s; want %s", i+1, body, want)
		}
	}

	h := crashtest.New()
	for _, id := range retry {
		h.Record(id, crashtest.Acked)
	}
	var killed atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; i < 400; i++ {
				to := []*node{a, b}[(w+i)%2]
				if killed.Load() {
					to = b
				}
				ids := make([]string, 25)
				for j := range ids {
					ids[j] = fmt.Sprintf("w%d-b%d-%d", w, i, j)
				}
				code, err := postTrackBatch(to.url, src.WriteKey, ids)
				o := crashtest.Unknown
				switch {
				case err != nil:
				case code == http.StatusOK:
					o = crashtest.Acked
				case code < 500:
					o = crashtest.Refused
				}
				for _, id := range ids {
					h.Record(id, o)
				}
				if acked, _, _ := h.Counts(); acked >= 6000 {
					return
				}
			}
		})
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if acked, _, _ := h.Counts(); acked >= 2000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 2,000 events acknowledged in 30s; a said: %s\nb said: %s", a.log(), b.log())
		}
	}
	killed.Store(true) // requests in flight to a stay unanswered
	a.kill()
	died := time.Now()
	waitMetric(t, b.url, "parcours_stream_relay_owner 1", 15*time.Second)
	took := time.Since(died)
	waitMetric(t, b.url, `parcours_cluster_lease_events_total{event="acquired",lease="pipeline"} 1`, 5*time.Second)
	if took > 10*time.Second {
		t.Errorf("node b took the relay over %s after a was killed; want within 10s", took.Round(time.Millisecond))
	}
	wg.Wait()

	// Everything acknowledged reaches the log, and unify (on b) follows.
	acked, _, _ := h.Counts()
	var r crashtest.Report
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st := e.open(t, dirB)
		events, err := st.ReadAfter(ctx, 0, 10_000_000)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := st.Checkpoint(ctx, unify.Consumer)
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		stored := map[string]int{}
		for _, ev := range events {
			if ev.SourceID == src.ID {
				stored[ev.MessageID]++
			}
		}
		r = h.CheckStored(stored)
		last := int64(0)
		if len(events) > 0 {
			last = events[len(events)-1].Seq
		}
		if r.Err() == nil && cp >= last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("30s after the kill: %v (%s); unify at %d of %d\nb said: %s", r.Err(), r, cp, last, b.log())
		}
	}
	t.Logf("%d acknowledged; after SIGKILL of the pipeline owner: %s; b relayed %s after the kill", acked, r, took.Round(time.Millisecond))

	// The cluster reports it: b alone, running the pipeline, nothing behind.
	idB := nodeID(t, dirB)
	var out, errs bytes.Buffer
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out.Reset()
		errs.Reset()
		code := Main([]string{"cluster", "status", "--database", e.database, "--nats", natsURL, "--nats-stream", name, "--json"}, &out, &errs)
		if code != 0 {
			t.Fatalf("cluster status: exit %d: %s", code, errs.String())
		}
		var got struct {
			Cluster  stream.Status `json:"cluster"`
			UnifyLag int64         `json:"unify_lag"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("cluster status --json: %v: %s", err, out.String())
		}
		c := got.Cluster
		if len(c.Nodes) == 1 && c.Nodes[0].Node == idB && c.Leases[server.PipelineLease] == idB && c.Lag == 0 && got.UnifyLag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster status 10s after the takeover: %s; want b (%s) alone, holding the pipeline, nothing behind", out.String(), idB)
		}
	}
	resp, err := http.Get(b.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Cluster stream.Status `json:"cluster"`
	}
	err = json.NewDecoder(resp.Body).Decode(&ready)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || ready.Cluster.Leases[server.PipelineLease] != idB || !ready.Cluster.Connected {
		t.Errorf("b's /readyz: %d %+v %v; want 200, connected, holding the pipeline lease", resp.StatusCode, ready.Cluster, err)
	}
	b.stop()
}

// TestClusterPausedOwnerGivesWay pauses the node holding the pipeline lease
// with SIGSTOP: the other node takes the relay over within 10 seconds and
// the events acknowledged meanwhile reach the log; when the paused node
// resumes, it finds its lease gone and exits (a supervisor restarts it)
// instead of running the stages beside the new owner.
func TestClusterPausedOwnerGivesWay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	natsURL := os.Getenv("PARCOURS_TEST_NATS_URL")
	if natsURL == "" || os.Getenv("PARCOURS_TEST_POSTGRES_URL") == "" {
		t.Skip("PARCOURS_TEST_NATS_URL and PARCOURS_TEST_POSTGRES_URL not both set")
	}
	ctx := context.Background()
	e := engine{name: "PostgreSQL"}.prepare(t)
	name := "T_" + strings.ToUpper(rand.Text()[:12])
	t.Cleanup(func() { dropStream(natsURL, name) })
	dirA, dirB := t.TempDir(), t.TempDir()
	st := e.open(t, dirA)
	src, _ := source.New("Web shop", "web", "", time.Now())
	if err := st.CreateSource(ctx, src); err != nil {
		t.Fatal(err)
	}
	st.Close()
	flags := []string{"--nats", natsURL, "--nats-stream", name}
	a := startNode(t, dirA, e, flags...)
	waitMetric(t, a.url, "parcours_stream_relay_owner 1", 10*time.Second)
	eb := e
	eb.app += "-b"
	b := startNode(t, dirB, eb, flags...)
	exited := make(chan error, 1)
	go func() { exited <- a.cmd.Wait() }()

	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	var ids []string
	for i := range 40 {
		batch := []string{fmt.Sprintf("p-%d-0", i), fmt.Sprintf("p-%d-1", i)}
		if code, err := postTrackBatch(b.url, src.WriteKey, batch); err != nil || code != http.StatusOK {
			t.Fatalf("posting to b while a is paused: %d %v", code, err)
		}
		ids = append(ids, batch...)
	}
	waitMetric(t, b.url, "parcours_stream_relay_owner 1", 15*time.Second)
	took := time.Since(paused)
	if took > 10*time.Second {
		t.Errorf("b took the relay over %s after a was paused; want within 10s", took.Round(time.Millisecond))
	}
	if err := a.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err == nil || !strings.Contains(a.log(), "lost the pipeline lease") {
			t.Errorf("a exited with %v after it resumed; want an error saying it lost the pipeline lease; it said: %s", err, a.log())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("a still runs 15s after it resumed without its lease; it said: %s", a.log())
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st := e.open(t, dirB)
		events, err := st.ReadAfter(ctx, 0, 100_000)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, ev := range events {
			seen[ev.MessageID]++
		}
		missing, twice := 0, 0
		for _, id := range ids {
			switch seen[id] {
			case 0:
				missing++
			case 1:
			default:
				twice++
			}
		}
		if twice > 0 {
			t.Fatalf("%d events in the log twice", twice)
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged events not in the log 20s after b took over; b said: %s", missing, len(ids), b.log())
		}
	}
	t.Logf("b took over %s after a was paused; a exited when it resumed", took.Round(time.Millisecond))
	b.stop()
}

// answer posts a batch of track events and returns the answer's body.
func answer(t *testing.T, url, writeKey string, ids []string) string {
	t.Helper()
	var sb strings.Builder
	sb.WriteString(`{"batch":[`)
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"track","userId":"u-%d","event":"Product Viewed","messageId":"%s"}`, i, id)
	}
	sb.WriteString(`]}`)
	req, _ := http.NewRequest("POST", url+"/v1/batch", strings.NewReader(sb.String()))
	req.SetBasicAuth(writeKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s/v1/batch: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// postTrackBatch posts one batch of track events with the given message ids.
func postTrackBatch(url, writeKey string, ids []string) (int, error) {
	var sb strings.Builder
	sb.WriteString(`{"batch":[`)
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"track","userId":"u-%d","event":"Product Viewed","messageId":"%s","properties":{"sku":"SHOE-42"}}`, i%40, id)
	}
	sb.WriteString(`]}`)
	req, _ := http.NewRequest("POST", url+"/v1/batch", bytes.NewReader([]byte(sb.String())))
	req.SetBasicAuth(writeKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// waitMetric waits until the node's /metrics holds line.
func waitMetric(t *testing.T, url, line string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		resp, err := http.Get(url + "/metrics")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "\n"+line+"\n") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/metrics: no %q within %s", url, line, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dropStream deletes a test's stream and its lease bucket.
func dropStream(natsURL, name string) {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = js.DeleteStream(ctx, name)
	_ = js.DeleteKeyValue(ctx, name+"_LEASES")
}

// TestClusterDefinitionsReachTheOwner saves a segment through the node that
// does not run the stages: the node that does must evaluate it (within the
// 5 s reload) for the events sent after.
func TestClusterDefinitionsReachTheOwner(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	natsURL := os.Getenv("PARCOURS_TEST_NATS_URL")
	if natsURL == "" || os.Getenv("PARCOURS_TEST_POSTGRES_URL") == "" {
		t.Skip("PARCOURS_TEST_NATS_URL and PARCOURS_TEST_POSTGRES_URL not both set")
	}
	ctx := context.Background()
	e := engine{name: "PostgreSQL"}.prepare(t)
	name := "T_" + strings.ToUpper(rand.Text()[:12])
	t.Cleanup(func() { dropStream(natsURL, name) })
	dirA, dirB := t.TempDir(), t.TempDir()
	st := e.open(t, dirA)
	src, _ := source.New("Web shop", "web", "", time.Now())
	if err := st.CreateSource(ctx, src); err != nil {
		t.Fatal(err)
	}
	st.Close()
	flags := []string{"--nats", natsURL, "--nats-stream", name}
	a := startNode(t, dirA, e, flags...)
	waitMetric(t, a.url, "parcours_stream_relay_owner 1", 10*time.Second)
	eb := e
	eb.app += "-b"
	b := startNode(t, dirB, eb, flags...)
	key := adminKey(t, dirA) // the nodes share the store's admin keys

	req, _ := http.NewRequest("POST", b.url+"/api/v1/segments",
		strings.NewReader(`{"id":"viewers","name":"Viewers","where":{"performed":{"event":"Product Viewed"}}}`))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("saving a segment through b: %d %s", resp.StatusCode, body)
	}
	time.Sleep(6 * time.Second) // past the owner's reload
	answer(t, b.url, src.WriteKey, []string{"v-0", "v-1", "v-2"})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		req, _ := http.NewRequest("GET", a.url+"/api/v1/segments/viewers/members", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Members []any `json:"members"`
		}
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if err == nil && len(m.Members) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the segment saved through b has %d members 20s after 3 customers did its event (%v); a said: %s", len(m.Members), err, a.log())
		}
	}
	b.stop()
	a.stop()
}
