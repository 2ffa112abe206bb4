package pipeline_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/partition"
	"github.com/parcours/parcours/internal/pipeline"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store/postgres"
	"github.com/parcours/parcours/internal/unify"
)

// The property of issue 18.3: the same events through one node, and
// through three nodes sharing the partitions of the segment and journey
// stages while they join, leave and are cut off at random, give the same
// profiles, memberships and journey states.

const propSegments = `
kind: segment
id: buyers
name: Ordered
where:
  performed: {event: Order Completed}
---
kind: segment
id: pro
name: Pro plan
where:
  trait: plan
  equals: pro
---
kind: segment
id: browsed-and-bought
name: Viewed and ordered
where:
  all:
    - performed: {event: Order Completed}
    - performed: {event: Product Viewed}
`

const propJourneys = `
kind: journey
id: welcome-buyer
name: Welcome buyers
triggers: [{segment_entered: buyers}]
steps:
  - wait: {for: 48h}
---
kind: journey
id: cart
name: Cart
triggers: [{event: Product Added}]
exit_on: [{event: Order Completed}]
steps:
  - wait: {for: 72h}
`

// propEvents returns n random events of customers customers: anonymous
// visits on one or two devices, orders and carts under the user id or a
// device, and identifies that link a device to the user (merges, often of
// profiles in different partitions).
func propEvents(rng *mrand.Rand, customers, n int, now time.Time) []*event.Event {
	var out []*event.Event
	for i := range n {
		c := rng.IntN(customers)
		user := fmt.Sprintf("u%d", c)
		anon := fmt.Sprintf("a%d-%d", c, rng.IntN(2))
		e := &event.Event{MessageID: "m" + strconv.Itoa(i), SourceID: "src_web", Channel: "web",
			Timestamp: now.Add(-time.Duration(n-i) * time.Second), ReceivedAt: now}
		switch k := rng.IntN(10); {
		case k < 3:
			e.Type, e.Event, e.AnonymousID = event.Track, "Product Viewed", anon
		case k < 5:
			e.Type, e.Event = event.Track, "Product Added"
			if rng.IntN(2) == 0 {
				e.AnonymousID = anon
			} else {
				e.UserID = user
			}
		case k < 7:
			e.Type, e.Event = event.Track, "Order Completed"
			e.Properties = json.RawMessage(fmt.Sprintf(`{"revenue": %d}`, 10+rng.IntN(90)))
			if rng.IntN(3) == 0 {
				e.AnonymousID = anon
			} else {
				e.UserID = user
			}
		default:
			plan := []string{"free", "pro"}[rng.IntN(2)]
			e.Type, e.UserID, e.AnonymousID = event.Identify, user, anon
			e.Traits = json.RawMessage(fmt.Sprintf(`{"plan": %q, "email": "%s@example.com"}`, plan, user))
		}
		out = append(out, e)
	}
	return out
}

// propSchema creates a migrated schema, dropped when t ends.
func propSchema(t testing.TB) string {
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
	if os.Getenv("PARCOURS_TEST_KEEP_SCHEMA") != "" {
		t.Logf("schema %s kept", name)
	} else {
		t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE") })
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	st := propOpen(t, u.String())
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return u.String()
}

func propOpen(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// propPipeline assembles the stages over st with the test's definitions
// loaded (saved first if save).
func propPipeline(t testing.TB, st *postgres.Store, clk clock.Clock, partitions int, save bool) *pipeline.Pipeline {
	t.Helper()
	ctx := context.Background()
	cfg := pipeline.Config{Partitions: partitions}
	cfg.Messages.Secret = []byte("test")
	p := pipeline.New(st, cfg, pipeline.Runtime{Clock: clk, Emit: collect.Direct{Appender: st}, Logger: quiet})
	t.Cleanup(func() { p.Close() })
	if save {
		segs, err := segment.ParseYAML("s.yaml", strings.NewReader(propSegments))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Segments.Save(ctx, segs, nil); err != nil {
			t.Fatal(err)
		}
		js, err := journey.ParseYAML("j.yaml", strings.NewReader(propJourneys))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Journeys.Save(ctx, js); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Segments.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Journeys.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

// stepBatch is how many events step hands over at most (the benchmark
// gives the plain stage the partitions' 1,000).
var stepBatch = 200

// step hands the next batch after name's checkpoint, read from log, to fn;
// it says whether there was one.
func step(ctx context.Context, st *postgres.Store, log eventlog.Reader, name string, fn func(context.Context, []*event.Event) error) (bool, error) {
	after, err := st.Checkpoint(ctx, name)
	if err != nil {
		return false, err
	}
	batch, err := log.ReadAfter(ctx, after, stepBatch)
	if err != nil || len(batch) == 0 {
		return false, err
	}
	if err := fn(ctx, batch); err != nil {
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return true, nil
}

// outcome is what the property compares: every profile by its
// identifiers, with its traits' values and aggregates; every segment's
// members; every enrolment.
type outcome struct {
	Profiles    []string
	Memberships map[string][]string
	Enrolments  []string
}

func observe(t *testing.T, st *postgres.Store) outcome {
	t.Helper()
	ctx := context.Background()
	key := map[int64]string{}
	var out outcome
	var ids []int64
	for after := int64(0); ; {
		page, err := st.ListProfiles(ctx, after, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			var idents []string
			for _, x := range p.Identifiers {
				idents = append(idents, string(x.Kind)+":"+x.Value)
			}
			slices.Sort(idents)
			key[p.ID] = strings.Join(idents, ",")
			traits := map[string]json.RawMessage{}
			for k, v := range p.Traits {
				traits[k] = v.Value
			}
			tb, _ := json.Marshal(traits)
			ab, _ := json.Marshal(p.Agg)
			out.Profiles = append(out.Profiles, key[p.ID]+" "+string(tb)+" "+string(ab))
			ids = append(ids, p.ID)
		}
		after = page[len(page)-1].ID
	}
	slices.Sort(out.Profiles)
	out.Memberships = map[string][]string{}
	for _, seg := range []string{"buyers", "pro", "browsed-and-bought"} {
		ms, err := st.SegmentMembers(ctx, seg, 0, 10_000)
		if err != nil {
			t.Fatal(err)
		}
		var members []string
		for _, m := range ms {
			members = append(members, cmp.Or(key[m.Profile], "gone:"+strconv.FormatInt(m.Profile, 10)))
		}
		slices.Sort(members)
		out.Memberships[seg] = members
	}
	ens, err := st.ProfileEnrolments(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range ens {
		out.Enrolments = append(out.Enrolments, fmt.Sprintf("%s %s %s %s", en.Journey, key[en.Profile], en.Status, en.Step))
	}
	slices.Sort(out.Enrolments)
	return out
}

// oneNode runs the events through one node's stages, in chunks.
func oneNode(t *testing.T, events []*event.Event, chunk int, now time.Time) outcome {
	ctx := context.Background()
	st := propOpen(t, propSchema(t))
	p := propPipeline(t, st, clock.NewFake(now), 0, true)
	settle := func() {
		for range 1000 {
			busy := false
			for _, s := range []struct {
				name string
				fn   func(context.Context, []*event.Event) error
			}{{unify.Consumer, p.Unify.Process}, {segment.Consumer, p.Segments.Process}, {journey.Consumer, p.Journeys.Process}} {
				moved, err := step(ctx, st, st, s.name, s.fn)
				if err != nil {
					t.Fatal(err)
				}
				busy = busy || moved
			}
			if !busy {
				return
			}
		}
		t.Fatal("one node: the stages did not settle")
	}
	for i := 0; i < len(events); i += chunk {
		if err := st.Append(ctx, clone(events[i:min(i+chunk, len(events))]), nil); err != nil {
			t.Fatal(err)
		}
		settle()
	}
	return observe(t, st)
}

func clone(events []*event.Event) []*event.Event {
	out := make([]*event.Event, len(events))
	for i, e := range events {
		c := *e
		out[i] = &c
	}
	return out
}

// cut is a node's view of the leases that can be cut off (the node dead
// or paused, as far as PostgreSQL can tell): its heartbeats and renewals
// fail, its partitions' runs go on until they stop themselves or are
// fenced.
type cut struct {
	partition.Leases
	off atomic.Bool
	// paused stops the node's coordinator in its next heartbeat until it
	// is cleared, while its partitions' runs go on: a node whose
	// coordinator stalls (a long GC or VM pause that spared them) keeps
	// writing after its leases expired, and the fence must refuse it.
	paused atomic.Bool
}

var errCutOff = errors.New("cut off")

func (c *cut) Heartbeat(ctx context.Context, node, address string) error {
	for c.paused.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	if c.off.Load() {
		return errCutOff
	}
	return c.Leases.Heartbeat(ctx, node, address)
}

func (c *cut) RenewPartitions(ctx context.Context, node string, ttl time.Duration) (map[int]int64, error) {
	if c.off.Load() {
		return nil, errCutOff
	}
	return c.Leases.RenewPartitions(ctx, node, ttl)
}

func (c *cut) ReleasePartition(ctx context.Context, part int, node string) error {
	if c.off.Load() {
		return errCutOff
	}
	return c.Leases.ReleasePartition(ctx, part, node)
}

func (c *cut) LeaveCluster(ctx context.Context, node string) error {
	if c.off.Load() {
		return errCutOff
	}
	return c.Leases.LeaveCluster(ctx, node)
}

// clusterNode is one of the three in-process nodes: its own connections
// (declaring its id), its own stages, its coordinator.
type clusterNode struct {
	name   string
	leases *cut
	p      *pipeline.Pipeline
	st     *postgres.Store
	cancel context.CancelFunc
	done   chan struct{}
	c      *partition.Coordinator
}

// fenced counts the partitions' runs ended by the fence.
var fenced atomic.Int64

func (n *clusterNode) start(parts int) {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan struct{})
	n.c = &partition.Coordinator{Leases: n.leases, Node: n.name, Partitions: parts, TTL: 600 * time.Millisecond,
		Every: 100 * time.Millisecond, Logger: quiet,
		Run: func(ctx context.Context, part int, token int64) error {
			err := n.p.RunPartition(ctx, n.st, part)
			if postgres.IsPartitionFenced(err) {
				fenced.Add(1)
			}
			return err
		}}
	go func() { defer close(n.done); _ = n.c.Start(ctx) }()
}

func (n *clusterNode) running() bool { return n.done != nil }

func (n *clusterNode) stop() {
	if n.done == nil {
		return
	}
	n.cancel()
	<-n.done
	n.done = nil
}

// cluster runs the events through the ordered stages (unify, the router)
// and three nodes sharing the partitions of the segment and journey
// stages, joining, leaving and being cut off at random between chunks and
// while a chunk is read.
func cluster(t *testing.T, events []*event.Event, chunk, parts int, now time.Time, rng *mrand.Rand) (outcome, []string) {
	ctx := context.Background()
	dsn := propSchema(t)
	st := propOpen(t, dsn)
	clk := clock.NewFake(now)
	p := propPipeline(t, st, clk, parts, true)
	router := p.Router(st)
	var nodes []*clusterNode
	for i := range 3 {
		ns := propOpen(t, dsn)
		name := fmt.Sprintf("node-%d", i)
		ns.DeclareNode(name)
		n := &clusterNode{name: name, leases: &cut{Leases: ns}, st: ns, p: propPipeline(t, ns, clk, parts, false)}
		nodes = append(nodes, n)
		t.Cleanup(func() { n.leases.paused.Store(false); n.stop() })
	}
	nodes[0].start(parts)
	var history []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); history = append(history, s); mu.Unlock() }
	names := append(p.SegmentCheckpoints(), p.JourneyCheckpoints()...)
	behindUnify := eventlog.Behind{Log: st, Behind: []string{unify.Consumer}}
	// drive runs the ordered stages once; it says whether anything moved.
	drive := func() bool {
		busy := false
		for _, s := range []struct {
			name string
			log  eventlog.Reader
			fn   func(context.Context, []*event.Event) error
		}{{unify.Consumer, st, p.Unify.Process}, {partition.RouterConsumer, behindUnify, router.Route}} {
			moved, err := step(ctx, st, s.log, s.name, s.fn)
			if err != nil {
				t.Fatal(err)
			}
			busy = busy || moved
		}
		// The partitions' journeys read behind the message stage (the
		// consent it records), which these events leave alone: it is
		// as far as unify.
		u, err := st.Checkpoint(ctx, unify.Consumer)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := st.Checkpoint(ctx, message.Consumer); err != nil {
			t.Fatal(err)
		} else if m < u {
			if err := st.SaveCheckpoint(ctx, message.Consumer, u); err != nil {
				t.Fatal(err)
			}
		}
		return busy
	}
	// rebalance joins, stops, cuts off or heals a node at random, keeping
	// at least one node running and reachable.
	rebalance := func() {
		n := nodes[rng.IntN(len(nodes))]
		live := 0
		for _, x := range nodes {
			if x.running() && !x.leases.off.Load() && !x.leases.paused.Load() {
				live++
			}
		}
		switch {
		case !n.running():
			n.leases.off.Store(false)
			n.start(parts)
			note("join " + n.name)
		case n.leases.off.Load():
			n.leases.off.Store(false)
			note("heal " + n.name)
		case n.leases.paused.Load():
			n.leases.paused.Store(false)
			note("resume " + n.name)
		case live > 1 && rng.IntN(3) == 0:
			n.leases.paused.Store(true)
			note("pause " + n.name)
		case live > 1 && rng.IntN(2) == 0:
			n.stop()
			note("leave " + n.name)
		case live > 1:
			n.leases.off.Store(true)
			note("cut " + n.name)
		}
	}
	// settle drives the ordered stages until the log stops growing and
	// every stage, each partition included, has read all of it; once
	// during it, after a random delay, rebalance may move partitions under
	// the partitions' feet.
	settle := func(moveDuring bool) {
		deadline := time.Now().Add(90 * time.Second)
		moveAt := time.Now().Add(time.Duration(rng.IntN(300)) * time.Millisecond)
		for stable := 0; stable < 3; {
			if time.Now().After(deadline) {
				t.Fatalf("the cluster did not catch up within 90 s; rebalances: %v", history)
			}
			if moveDuring && time.Now().After(moveAt) {
				rebalance()
				moveDuring = false
			}
			if drive() {
				stable = 0
				continue
			}
			last, err := st.LastSeq(ctx)
			if err != nil {
				t.Fatal(err)
			}
			done := true
			for _, name := range append([]string{unify.Consumer, partition.RouterConsumer}, names...) {
				if cp, err := st.Checkpoint(ctx, name); err != nil || cp < last {
					done = false
				}
			}
			if done {
				stable++
			} else {
				stable = 0
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The events go in by chunks, as on one node: each chunk is read by
	// every stage before the next is appended, so that journeys see the
	// same profiles as on one node (docs/scale.md: journeys resolve a
	// customer's profile when they read the event). Between chunks and
	// while a chunk is read, nodes join, leave and are cut off at random.
	for i := 0; i < len(events); i += chunk {
		if rng.IntN(3) == 0 {
			rebalance()
		}
		if err := st.Append(ctx, clone(events[i:min(i+chunk, len(events))]), nil); err != nil {
			t.Fatal(err)
		}
		settle(rng.IntN(2) == 0)
	}
	for _, n := range nodes {
		n.leases.off.Store(false)
		n.leases.paused.Store(false)
	}
	settle(false)
	return observe(t, st), history
}

func TestPartitionedStagesMatchOneNode(t *testing.T) {
	if os.Getenv("PARCOURS_TEST_POSTGRES_URL") == "" {
		t.Skip("PARCOURS_TEST_POSTGRES_URL not set")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PARCOURS_PROPERTY_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	rounds := 2
	if testing.Short() {
		rounds = 1
	}
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for r := range rounds {
		seed := seed + uint64(r)
		rng := mrand.New(mrand.NewPCG(seed, 18))
		events := propEvents(rng, 30, 400, now)
		want := oneNode(t, events, 40, now)
		got, history := cluster(t, events, 40, 8, now, rng)
		if len(want.Profiles) == 0 || len(want.Memberships["buyers"]) == 0 || len(want.Enrolments) == 0 {
			t.Fatalf("seed %d: the reference run derived nothing: %+v", seed, want)
		}
		t.Logf("seed %d: %d profiles, %d buyers, %d pro, %d enrolments; rebalances: %v; partition runs fenced so far: %d", seed, len(want.Profiles),
			len(want.Memberships["buyers"]), len(want.Memberships["pro"]), len(want.Enrolments), history, fenced.Load())
		if d := diff("profiles", want.Profiles, got.Profiles); d != "" {
			t.Errorf("seed %d (PARCOURS_PROPERTY_SEED=%d): %s", seed, seed, d)
		}
		for seg, w := range want.Memberships {
			if d := diff("members of "+seg, w, got.Memberships[seg]); d != "" {
				t.Errorf("seed %d (PARCOURS_PROPERTY_SEED=%d): %s", seed, seed, d)
			}
		}
		if d := diff("enrolments", want.Enrolments, got.Enrolments); d != "" {
			t.Errorf("seed %d (PARCOURS_PROPERTY_SEED=%d): %s", seed, seed, d)
		}
	}
}

// diff says what one list has that the other has not ("": the same).
func diff(what string, want, got []string) string {
	if slices.Equal(want, got) {
		return ""
	}
	var missing, extra []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	return fmt.Sprintf("%s differ (%d against %d): missing %v, extra %v", what, len(want), len(got), missing, extra)
}
