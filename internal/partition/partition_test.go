package partition_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/partition"
	"github.com/parcours/parcours/internal/store/postgres"
)

func TestOfSpreadsAndIsStable(t *testing.T) {
	const n = 8
	count := make([]int, n)
	for id := int64(1); id <= 8000; id++ {
		p := partition.Of(id, n)
		if p != partition.Of(id, n) || p < 0 || p >= n {
			t.Fatalf("Of(%d, %d) = %d", id, n, p)
		}
		count[p]++
	}
	for p, c := range count {
		if c < 800 || c > 1200 {
			t.Errorf("partition %d has %d of 8000 profiles, want about 1000: %v", p, c, count)
		}
	}
	if partition.Of(0, n) != 0 || partition.Of(42, 1) != 0 {
		t.Error("profile 0 and a single partition go to partition 0")
	}
}

func TestNameParse(t *testing.T) {
	stage, part, ok := partition.Parse(partition.Name("segment", 12))
	if !ok || stage != "segment" || part != 12 {
		t.Errorf("Parse(Name) = %q %d %v", stage, part, ok)
	}
	for _, bad := range []string{"segment", "segment.p", "segment.px", "unify"} {
		if _, _, ok := partition.Parse(bad); ok {
			t.Errorf("Parse(%q) ok", bad)
		}
	}
}

func TestAssignIsEvenAndTheSameEverywhere(t *testing.T) {
	a := partition.Assign([]string{"a", "b", "c"}, 8)
	held := map[string]int{}
	for _, n := range a {
		held[n]++
	}
	if held["a"] != 3 || held["b"] != 3 || held["c"] != 2 {
		t.Errorf("Assign = %v", a)
	}
	if partition.Assign(nil, 8) != nil {
		t.Error("no node: no assignment")
	}
}

// schema creates an empty migrated schema, dropped when t ends, and returns
// its connection string.
func schema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("PARCOURS_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("PARCOURS_TEST_POSTGRES_URL not set")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	name := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	st := open(t, u.String(), "")
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// open opens a store that declares node ("": none), closed when t ends.
func open(t *testing.T, dsn, node string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if node != "" {
		st.DeclareNode(node)
	}
	return st
}

// TestPartitionCheckpointIsFenced: a node writes a partition's checkpoint
// only while it holds the partition; once the partition has moved, the
// old holder's write is refused by PostgreSQL, whatever it believes.
func TestPartitionCheckpointIsFenced(t *testing.T) {
	dsn := schema(t)
	ctx := context.Background()
	a, b := open(t, dsn, "a"), open(t, dsn, "b")
	if err := a.EnsurePartitions(ctx, 4); err != nil {
		t.Fatal(err)
	}
	if err := b.EnsurePartitions(ctx, 5); err == nil || !strings.Contains(err.Error(), "--partitions 4") {
		t.Errorf("another number of partitions: %v", err)
	}
	if err := a.SaveCheckpoint(ctx, "segment.p1", 10); !postgres.IsPartitionFenced(err) {
		t.Fatalf("a checkpoint of a partition nobody holds: %v, want fenced", err)
	}
	tok, ok, err := a.ClaimPartition(ctx, 1, "a", 2*time.Second)
	if err != nil || !ok {
		t.Fatalf("claim: %d %v %v", tok, ok, err)
	}
	if _, ok, _ := b.ClaimPartition(ctx, 1, "b", time.Second); ok {
		t.Fatal("b claimed a partition a holds")
	}
	if err := a.SaveCheckpoint(ctx, "segment.p1", 10); err != nil {
		t.Fatal(err)
	}
	if err := b.SaveCheckpoint(ctx, "segment.p1", 11); !postgres.IsPartitionFenced(err) {
		t.Fatalf("b wrote a's partition: %v", err)
	}
	// Other checkpoints are not partitions': not checked.
	if err := b.SaveCheckpoint(ctx, "segment", 11); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // a's lease expires: a paused node
	if err := a.SaveCheckpoint(ctx, "segment.p1", 12); !postgres.IsPartitionFenced(err) {
		t.Fatalf("a wrote after its lease expired: %v", err)
	}
	tok2, ok, err := b.ClaimPartition(ctx, 1, "b", time.Second)
	if err != nil || !ok || tok2 <= tok {
		t.Fatalf("b's claim after the expiry: token %d (a had %d) %v %v", tok2, tok, ok, err)
	}
	if err := b.SaveCheckpoint(ctx, "segment.p1", 12); err != nil {
		t.Fatal(err)
	}
	if err := a.SaveCheckpoint(ctx, "segment.p1", 13); !postgres.IsPartitionFenced(err) {
		t.Fatalf("a wrote after b took the partition: %v", err)
	}
	if cp, _ := a.Checkpoint(ctx, "segment.p1"); cp != 12 {
		t.Errorf("checkpoint %d, want 12", cp)
	}
	// A session that declares no node (the CLI) is not checked.
	if err := open(t, dsn, "").SaveCheckpoint(ctx, "segment.p1", 14); err != nil {
		t.Fatal(err)
	}
}

// TestPartitionClaimWaitsForTheOldHoldersTransaction: a write that passed
// the check keeps the partition until its transaction ends.
func TestPartitionClaimWaitsForTheOldHoldersTransaction(t *testing.T) {
	dsn := schema(t)
	ctx := context.Background()
	a, b := open(t, dsn, "a"), open(t, dsn, "b")
	if err := a.EnsurePartitions(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := a.ClaimPartition(ctx, 0, "a", 2*time.Second); !ok || err != nil {
		t.Fatal(ok, err)
	}
	conn, err := pgx.Connect(ctx, dsn) // a's session, as its pool's would be
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT set_config('parcours.node', 'a', false)"); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO checkpoints (consumer, seq, updated_at) VALUES ('segment.p0', 5, now())"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // the lease expires while the transaction is open
	claimed := make(chan bool, 1)
	go func() {
		_, ok, _ := b.ClaimPartition(ctx, 0, "b", time.Second)
		claimed <- ok
	}()
	select {
	case <-claimed:
		t.Fatal("b claimed the partition while a's transaction that passed the check was open")
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !<-claimed {
		t.Fatal("b did not claim the partition once a's transaction ended")
	}
}

// flaky is a node's view of the leases that can be cut off: a node whose
// network to PostgreSQL is gone, or paused, for the lease's purposes.
type flaky struct {
	partition.Leases
	cut atomic.Bool
}

var errCut = errors.New("cut off")

func (f *flaky) Heartbeat(ctx context.Context, node, address string) error {
	if f.cut.Load() {
		return errCut
	}
	return f.Leases.Heartbeat(ctx, node, address)
}

func (f *flaky) RenewPartitions(ctx context.Context, node string, ttl time.Duration) (map[int]int64, error) {
	if f.cut.Load() {
		return nil, errCut
	}
	return f.Leases.RenewPartitions(ctx, node, ttl)
}

func (f *flaky) LeaveCluster(ctx context.Context, node string) error {
	if f.cut.Load() {
		return errCut
	}
	return f.Leases.LeaveCluster(ctx, node)
}

func (f *flaky) ReleasePartition(ctx context.Context, part int, node string) error {
	if f.cut.Load() {
		return errCut
	}
	return f.Leases.ReleasePartition(ctx, part, node)
}

// TestCoordinatorsShareAndTakeOver: nodes that join share the partitions
// evenly; one that leaves hands its partitions over within a round; one
// cut off loses them within the lease's TTL, and no partition ever runs
// on two nodes at once.
func TestCoordinatorsShareAndTakeOver(t *testing.T) {
	dsn := schema(t)
	const parts = 6
	var runningOn [parts]atomic.Int32
	var overlap atomic.Bool
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	type node struct {
		c      *partition.Coordinator
		f      *flaky
		cancel context.CancelFunc
		done   chan struct{}
	}
	start := func(name string) *node {
		f := &flaky{Leases: open(t, dsn, name)}
		c := &partition.Coordinator{Leases: f, Node: name, Partitions: parts, TTL: 700 * time.Millisecond, Every: 100 * time.Millisecond,
			Logger: quiet, Run: func(ctx context.Context, part int, token int64) error {
				if runningOn[part].Add(1) > 1 {
					overlap.Store(true)
				}
				defer runningOn[part].Add(-1)
				<-ctx.Done()
				return nil
			}}
		ctx, cancel := context.WithCancel(context.Background())
		n := &node{c: c, f: f, cancel: cancel, done: make(chan struct{})}
		go func() { defer close(n.done); _ = c.Start(ctx) }()
		t.Cleanup(func() { cancel(); <-n.done })
		return n
	}
	waitFor := func(what string, within time.Duration, ok func() bool) time.Duration {
		t.Helper()
		began := time.Now()
		for !ok() {
			if time.Since(began) > within {
				t.Fatalf("%s: not within %s", what, within)
			}
			time.Sleep(20 * time.Millisecond)
		}
		return time.Since(began)
	}
	held := func(ns ...*node) []int {
		var out []int
		for _, n := range ns {
			out = append(out, len(n.c.Held()))
		}
		return out
	}
	a := start("a")
	waitFor("a holds every partition", 3*time.Second, func() bool { return len(a.c.Held()) == parts })
	b := start("b")
	c := start("c")
	waitFor("three nodes share the partitions 2/2/2", 5*time.Second, func() bool { return slices.Equal(held(a, b, c), []int{2, 2, 2}) })

	// b leaves gracefully: its partitions go to a and c within rounds.
	b.cancel()
	<-b.done
	d := waitFor("a and c take b's partitions", 3*time.Second, func() bool { return slices.Equal(held(a, c), []int{3, 3}) })
	t.Logf("graceful leave: taken over in %s", d)

	// c is cut off (dead, or paused): its leases expire, a takes all.
	c.f.cut.Store(true)
	d = waitFor("a takes the partitions of the node cut off", 5*time.Second, func() bool { return len(a.c.Held()) == parts })
	t.Logf("node cut off: taken over in %s (TTL 700ms)", d)
	// c comes back: it finds its partitions lost, stops them, and joins again.
	c.f.cut.Store(false)
	waitFor("c back: 3/3", 5*time.Second, func() bool { return slices.Equal(held(a, c), []int{3, 3}) })
	if overlap.Load() {
		t.Error("a partition ran on two nodes at once")
	}
}
