package stream

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/postgres"
)

// env is the real NATS server and PostgreSQL database the tests run on;
// they skip without PARCOURS_TEST_NATS_URL and PARCOURS_TEST_POSTGRES_URL.
func env(t *testing.T) (natsURL string, st *postgres.Store) {
	t.Helper()
	natsURL = os.Getenv("PARCOURS_TEST_NATS_URL")
	base := os.Getenv("PARCOURS_TEST_POSTGRES_URL")
	if natsURL == "" || base == "" {
		t.Skip("PARCOURS_TEST_NATS_URL and PARCOURS_TEST_POSTGRES_URL not both set")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err = postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return natsURL, st
}

// streamName is a stream of the test's own, deleted after it.
func streamName(t *testing.T) string {
	return "T_" + strings.ToUpper(rand.Text()[:12])
}

// node is one serve node's share of the work: its NATS connection, its
// publisher, its group committer over the shared store, its relay.
type node struct {
	s      *Stream
	pub    *Publisher
	commit *collect.Committer
	relay  *Relay
	cancel context.CancelFunc
	done   chan struct{}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newNode connects a node to the stream o names, over st.
func newNode(t *testing.T, st *postgres.Store, o Options) *node {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet()
	}
	s, err := Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.js.DeleteStream(ctx, o.Name)
		_ = s.js.DeleteKeyValue(ctx, o.Name+"_LEASES")
		s.Close()
	})
	c := collect.NewCommitter(st, collect.CommitterOptions{Logger: o.Logger})
	go c.Run()
	t.Cleanup(c.Close)
	n := &node{s: s, pub: s.Publisher(nil), commit: c, relay: s.Relay(c, st, nil)}
	return n
}

// startRelay runs the node's relay under the lease until stop or the
// test's end.
func (n *node) startRelay(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan struct{})
	go func() { defer close(n.done); n.relay.RunOwned(ctx) }()
	t.Cleanup(n.stop)
}

func (n *node) stop() {
	if n.cancel != nil {
		n.cancel()
		<-n.done
	}
}

func (n *node) owner() bool { return testutil.ToFloat64(n.relay.owner) == 1 }

// batch is n track events of source src with message ids prefix-0...
func batch(src, prefix string, n int) []*event.Event {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	out := make([]*event.Event, n)
	for i := range out {
		out[i] = &event.Event{MessageID: fmt.Sprintf("%s-%d", prefix, i), Type: event.Track, Event: "Product Viewed",
			UserID: fmt.Sprintf("u-%d", i%7), Timestamp: at, ReceivedAt: at, SourceID: src, Channel: "web"}
	}
	return out
}

// logIDs reads the whole event log: its (source/messageId)s in log order.
func logIDs(t *testing.T, st *postgres.Store) []string {
	t.Helper()
	var ids []string
	var after int64
	for {
		evs, err := st.ReadAfter(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return ids
		}
		for _, e := range evs {
			ids = append(ids, MsgID(e))
			after = e.Seq
		}
	}
}

// waitLog waits up to d for the log to hold want events.
func waitLog(t *testing.T, st *postgres.Store, want int, d time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ids := logIDs(t, st)
		if len(ids) >= want || time.Now().After(deadline) {
			return ids
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// streamOrder reads the stream's events in stream order.
func streamOrder(t *testing.T, n *node) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	str, err := n.s.js.Stream(ctx, n.s.opts.Name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := str.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject == n.s.eventSubject() {
			ids = append(ids, m.Header.Get("Nats-Msg-Id"))
		}
	}
	return ids
}

// once checks that ids holds each of want exactly once, and nothing else.
func once(t *testing.T, ids []string, want map[string]bool) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range ids {
		seen[id]++
		if seen[id] == 2 {
			t.Errorf("%s is in the log twice", id)
		}
		if !want[id] {
			t.Errorf("%s is in the log; no client sent it", id)
		}
	}
	for id := range want {
		if seen[id] == 0 {
			t.Errorf("%s was acknowledged and is not in the log", id)
		}
	}
}

// countRejections counts the rejections in the store.
func countRejections(t *testing.T, st *postgres.Store) int {
	t.Helper()
	n := 0
	q := store.RejectionQuery{Limit: 100}
	for {
		rs, err := st.ListRejections(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 {
			return n
		}
		n += len(rs)
		q.Before = rs[len(rs)-1].ID
	}
}
