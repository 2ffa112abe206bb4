package segment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/unify"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

var lyon = place.Location{ID: "lyon-part-dieu", Name: "Lyon Part-Dieu", Lat: 45.7606, Lon: 4.8593}

// pipeline is the log, unify and the segment stage on one SQLite store,
// with a fake clock.
type pipeline struct {
	t     testing.TB
	st    *sqlite.Store
	clk   *clock.Fake
	unify *unify.Processor
	seg   *segment.Stage
	idx   *segment.Index
	n     int
}

func newPipeline(t testing.TB) *pipeline {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	sink := collect.Direct{Appender: st}
	p := &pipeline{t: t, st: st, clk: clk,
		unify: unify.NewProcessor(st, unify.Options{Clock: clk, Emit: sink}),
		idx:   segment.NewIndex(),
	}
	p.seg = segment.NewStage(st, segment.Options{Clock: clk, Emit: sink, Stores: []place.Location{lyon}, Index: p.idx})
	if err := p.seg.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := p.seg.CatchUpIndex(context.Background()); err != nil {
		t.Fatal(err)
	}
	return p
}

// send appends events (event time: now) and runs unify and segments
// until the log is drained.
func (p *pipeline) send(specs ...string) {
	p.t.Helper()
	var batch []*event.Event
	for _, s := range specs {
		batch = append(batch, p.ev(s))
	}
	if err := p.st.Append(context.Background(), batch, nil); err != nil {
		p.t.Fatal(err)
	}
	p.drain()
}

func (p *pipeline) drain() {
	p.t.Helper()
	ctx := context.Background()
	for range 5 { // internal events beget internal events
		for _, c := range []struct {
			name string
			fn   func([]*event.Event) error
		}{
			{unify.Consumer, func(b []*event.Event) error { return p.unify.Process(ctx, b) }},
			{segment.Consumer, func(b []*event.Event) error { return p.seg.Process(ctx, b) }},
		} {
			after, _ := p.st.Checkpoint(ctx, c.name)
			events, err := p.st.ReadAfter(ctx, after, 10_000)
			if err != nil {
				p.t.Fatal(err)
			}
			if len(events) == 0 {
				continue
			}
			if err := c.fn(events); err != nil {
				p.t.Fatal(err)
			}
			if c.name == segment.Consumer {
				continue
			}
		}
	}
}

// ev builds an event: "type user=u event=Name props={...} traits={...}
// ch=web ctx={...}"; the event time is the clock's now.
func (p *pipeline) ev(spec string) *event.Event {
	p.n++
	f := strings.Fields(spec)
	e := &event.Event{Type: event.Type(f[0]), SourceID: "src_web", Channel: "web", Timestamp: p.clk.Now(),
		ReceivedAt: p.clk.Now(), MessageID: fmt.Sprint("m", p.n)}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "user":
			e.UserID = v
		case "anon":
			e.AnonymousID = v
		case "event":
			e.Event = strings.ReplaceAll(v, "_", " ")
		case "props":
			e.Properties = json.RawMessage(v)
		case "traits":
			e.Traits = json.RawMessage(v)
		case "ctx":
			e.Context = json.RawMessage(v)
		case "ch":
			e.Channel = v
		case "src":
			e.SourceID = v
		}
	}
	return e
}

func (p *pipeline) apply(yaml string) {
	p.t.Helper()
	defs, err := segment.ParseYAML("test.yaml", strings.NewReader(yaml))
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.seg.Save(context.Background(), defs, nil); err != nil {
		p.t.Fatal(err)
	}
}

// members returns the user ids of a segment's members.
func (p *pipeline) members(seg string) []string {
	p.t.Helper()
	ctx := context.Background()
	ms, err := p.st.SegmentMembers(ctx, seg, 0, 1000)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		pr, err := p.st.Profile(ctx, m.Profile)
		if err != nil {
			p.t.Fatal(err)
		}
		out = append(out, userOf(pr))
	}
	return out
}

func userOf(p *profile.Profile) string {
	for _, id := range p.Identifiers {
		if id.Kind == identity.UserID {
			return id.Value
		}
	}
	return fmt.Sprint("#", p.ID)
}

// announced lists the Segment Entered/Exited events in the log, as
// "Entered seg user".
func (p *pipeline) announced() []string {
	p.t.Helper()
	ctx := context.Background()
	events, err := p.st.ReadAfter(ctx, 0, 100_000)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		if e.Event != segment.EventEntered && e.Event != segment.EventExited {
			continue
		}
		var props struct {
			ProfileID int64  `json:"profileId"`
			SegmentID string `json:"segmentId"`
		}
		_ = json.Unmarshal(e.Properties, &props)
		pr, _ := p.st.Profile(ctx, props.ProfileID)
		out = append(out, strings.TrimPrefix(e.Event, "Segment ")+" "+props.SegmentID+" "+userOf(pr))
	}
	return out
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

const shoeLovers = `
kind: segment
id: lyon-shoe-lovers
name: Women near Lyon who viewed shoes 3 times this week and bought nothing in 30 days
where:
  all:
    - trait: gender
      equals: female
    - near: {store: lyon-part-dieu, km: 10}
    - performed:
        event: Product Viewed
        where: {category: shoes}
        within: 7d
        count: {gte: 3}
    - not:
        performed: {event: Order Completed, within: 30d}
`

// TestTheSeedsAudience: the example audience, entered on the third
// view, left when an order comes, and left on day 8 when views age out.
func TestTheSeedsAudience(t *testing.T) {
	p := newPipeline(t)
	p.apply(shoeLovers)
	inLyon := `ctx={"location":{"latitude":45.76,"longitude":4.84,"city":"Lyon"}}`
	p.send(`identify user=ana traits={"gender":"female","email":"ana@example.fr"}`,
		`identify user=zoe traits={"gender":"female"}`,
		"track user=ana event=Product_Viewed props={\"category\":\"shoes\"} "+inLyon,
		"track user=zoe event=Product_Viewed props={\"category\":\"shoes\"} "+inLyon)
	p.clk.Advance(24 * time.Hour)
	p.send("track user=ana event=Product_Viewed props={\"category\":\"shoes\"}",
		"track user=ana event=Product_Viewed props={\"category\":\"bags\"}",
		"track user=zoe event=Product_Viewed props={\"category\":\"shoes\"}")
	eq(t, "members after two views", p.members("lyon-shoe-lovers"), nil)
	p.clk.Advance(time.Hour)
	p.send("track user=ana event=Product_Viewed props={\"category\":\"shoes\"}",
		"track user=zoe event=Product_Viewed props={\"category\":\"shoes\"}")
	eq(t, "members after three views", p.members("lyon-shoe-lovers"), []string{"ana", "zoe"})

	p.clk.Advance(time.Hour)
	p.send(`track user=zoe event=Order_Completed props={"order_id":"o1","total":120}`)
	eq(t, "members after zoe's order", p.members("lyon-shoe-lovers"), []string{"ana"})

	// Ana's first view was on day 0: on day 7 + 1 ms it leaves the window,
	// with no event arriving.
	p.clk.Set(t0.Add(7 * 24 * time.Hour))
	if n, err := p.seg.Tick(context.Background()); err != nil || n != 0 {
		t.Fatalf("tick before the window passes: %d profiles, %v", n, err)
	}
	eq(t, "members on day 7", p.members("lyon-shoe-lovers"), []string{"ana"})
	p.clk.Advance(time.Second)
	if n, err := p.seg.Tick(context.Background()); err != nil || n == 0 {
		t.Fatalf("tick after the window: %d profiles, %v", n, err)
	}
	eq(t, "members on day 8", p.members("lyon-shoe-lovers"), nil)
	p.drain()
	eq(t, "announcements", p.announced(), []string{
		"Entered lyon-shoe-lovers ana", "Entered lyon-shoe-lovers zoe", "Exited lyon-shoe-lovers zoe", "Exited lyon-shoe-lovers ana"})

	hist, err := p.st.SegmentHistory(context.Background(), store.SegmentHistoryQuery{Segment: "lyon-shoe-lovers"})
	if err != nil || len(hist) != 4 || hist[0].Reason != "time" {
		t.Fatalf("history = %+v, %v", hist, err)
	}
}

func profileFixture() *profile.Profile {
	p := profile.New(1)
	p.SetTrait("gender", profile.Trait{Value: json.RawMessage(`"female"`), At: t0})
	p.SetTrait("age", profile.Trait{Value: json.RawMessage(`31`), At: t0})
	p.SetTrait("birthday", profile.Trait{Value: json.RawMessage(`"1990-11-05"`), At: t0})
	return p
}

func envFixture(now time.Time) *profile.Env {
	return &profile.Env{Now: now, Stores: []place.Location{lyon}}
}

// TestUnmergeSplitsMemberships: a wrong merge made one customer out of
// two, each with one shoe view; undone, neither has viewed shoes twice.
func TestUnmergeSplitsMemberships(t *testing.T) {
	p := newPipeline(t)
	p.apply(`
kind: segment
id: twice
name: Viewed shoes twice
where:
  performed: {event: Product Viewed, where: {category: shoes}, count: {gte: 2}}
`)
	p.send(`track user=ana event=Product_Viewed props={"category":"shoes"}`,
		`track anon=device-9 event=Product_Viewed props={"category":"shoes"}`)
	eq(t, "before the merge", p.members("twice"), nil)
	p.send(`alias user=ana anon=device-9`) // the wrong link
	eq(t, "after the merge", p.members("twice"), []string{"ana"})

	ctx := context.Background()
	holders, err := p.st.Holders(ctx, []identity.Identifier{{Kind: identity.UserID, Value: "ana"}})
	if err != nil {
		t.Fatal(err)
	}
	ana := holders[identity.Identifier{Kind: identity.UserID, Value: "ana"}]
	merges, err := p.st.MergeLog(ctx, ana)
	if err != nil || len(merges) != 1 {
		t.Fatalf("merge log: %v %v", merges, err)
	}
	owners, err := unify.NewStage(p.st, unify.Options{Clock: p.clk}).Unmerge(ctx, ana, merges[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.seg.Rebuild(ctx, append(owners, ana)); err != nil {
		t.Fatal(err)
	}
	eq(t, "after the unmerge", p.members("twice"), nil)
}
