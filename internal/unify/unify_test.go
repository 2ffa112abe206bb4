package unify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/unify"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// ev builds an event from a compact description: "type key=value ...".
// Keys: user, anon, event, email, phone, loyalty, traits (JSON), props
// (JSON), ch (channel), at (minutes after t0), id (message id).
func ev(spec string) *event.Event {
	f := strings.Fields(spec)
	e := &event.Event{Type: event.Type(f[0]), SourceID: "src_web", Channel: "web", Timestamp: t0, ReceivedAt: t0}
	ctxTraits := map[string]string{}
	for _, kv := range f[1:] {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "user":
			e.UserID = v
		case "anon":
			e.AnonymousID = v
		case "event":
			e.Event = strings.ReplaceAll(v, "_", " ")
		case "email", "phone", "loyaltyId":
			ctxTraits[k] = v
		case "traits":
			e.Traits = json.RawMessage(v)
		case "props":
			e.Properties = json.RawMessage(v)
		case "ch":
			e.Channel = v
		case "at":
			var m int
			fmt.Sscan(v, &m)
			e.Timestamp = t0.Add(time.Duration(m) * time.Minute)
		case "id":
			e.MessageID = v
		}
	}
	if len(ctxTraits) > 0 {
		b, _ := json.Marshal(map[string]any{"traits": ctxTraits})
		e.Context = b
	}
	return e
}

// feed appends events to the log (message ids filled from their order).
func feed(t *testing.T, s *sqlite.Store, events ...*event.Event) {
	t.Helper()
	for i, e := range events {
		if e.MessageID == "" {
			e.MessageID = fmt.Sprintf("m-%03d-%d", i, e.Timestamp.Unix())
		}
	}
	if err := s.Append(context.Background(), events, nil); err != nil {
		t.Fatal(err)
	}
}

// run applies the whole log through a processor, in batches of size.
func run(t *testing.T, s *sqlite.Store, p *unify.Processor, size int) {
	t.Helper()
	ctx := context.Background()
	after, _ := s.Checkpoint(ctx, unify.Consumer)
	for {
		batch, err := s.ReadAfter(ctx, after, size)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			return
		}
		if err := p.Process(ctx, batch); err != nil {
			t.Fatal(err)
		}
		after = batch[len(batch)-1].Seq
	}
}

func find(t *testing.T, s *sqlite.Store, id identity.Identifier) *profile.Profile {
	t.Helper()
	h, err := s.Holders(context.Background(), []identity.Identifier{id})
	if err != nil || h[id] == 0 {
		t.Fatalf("no profile holds %s (%v)", id, err)
	}
	p, err := s.Profile(context.Background(), h[id])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func timeline(t *testing.T, s *sqlite.Store, p int64) []string {
	t.Helper()
	list, err := s.Timeline(context.Background(), store.TimelineQuery{Profile: p, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range list {
		out = append(out, e.Event+string(e.Type))
	}
	return out
}

// collectSink appends internal events to the store, as the committer does.
type collectSink struct{ s *sqlite.Store }

func (c collectSink) Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error {
	return collect.Direct{Appender: c.s}.Submit(ctx, events, rejects)
}

func TestAnonymousBrowsingLandsOnTheKnownProfile(t *testing.T) {
	s := openStore(t)
	feed(t, s,
		ev("page anon=a1 at=0"),
		ev("track anon=a1 event=Product_Viewed props={\"category\":\"shoes\"} at=1"),
		ev("track anon=a1 event=Product_Added props={\"sku\":\"SHOE-42\",\"price\":89.9} at=2"),
		ev(`identify anon=a1 user=sophie traits={"email":"Sophie@Example.fr","firstName":"Sophie"} at=3`),
		ev("track anon=phone-1 event=Product_Viewed ch=ios at=4"),
		ev("identify anon=phone-1 user=sophie ch=ios at=5"),
		ev("track user=sophie event=Order_Completed ch=pos props={\"total\":89.9} loyaltyId=L-77 at=6"),
		ev("track anon=r-1 event=Order_Completed ch=pos props={\"total\":20} loyaltyId=L-77 at=7"),
	)
	p := unify.NewProcessor(s, unify.Options{Clock: clock.NewFake(t0), Emit: collectSink{s}})
	run(t, s, p, 3)
	run(t, s, p, 3) // the internal events the first run emitted
	sophie := find(t, s, identity.Identifier{Kind: identity.UserID, Value: "sophie"})
	for _, id := range []identity.Identifier{
		{Kind: identity.AnonymousID, Value: "a1"}, {Kind: identity.AnonymousID, Value: "phone-1"},
		{Kind: identity.Email, Value: "sophie@example.fr"}, {Kind: identity.LoyaltyID, Value: "L-77"},
		{Kind: identity.AnonymousID, Value: "r-1"},
	} {
		if got := find(t, s, id); got.ID != sophie.ID {
			t.Errorf("%s is on profile %d, want %d", id, got.ID, sophie.ID)
		}
	}
	if string(sophie.Traits["firstName"].Value) != `"Sophie"` || sophie.Traits["firstName"].SourceID != "src_web" {
		t.Fatalf("traits %v", sophie.Traits)
	}
	c := profile.Computed(sophie, &profile.Env{Now: t0.Add(48 * time.Hour)})
	if c["order_count"] != 2 || c["lifetime_value"] != 109.9 || fmt.Sprint(c["current_cart"]) != "[]" ||
		fmt.Sprint(c["channels_used"]) != "[web ios pos]" || c["days_since_last_purchase"] != 1 {
		t.Fatalf("computed %v", c)
	}
	tl := timeline(t, s, sophie.ID)
	// 8 events, the phone's profile merged in, one traits change. Logging
	// in on the laptop was no merge: the user id was new, it was linked.
	if len(tl) != 8+1+1 {
		t.Fatalf("timeline %v", tl)
	}
	log, _ := s.MergeLog(context.Background(), sophie.ID)
	if len(log) != 1 || log[0].EventSeq != 6 {
		t.Fatalf("merge log %+v", log)
	}
}

func TestConflictsAreRefusedAndRecorded(t *testing.T) {
	s := openStore(t)
	feed(t, s,
		ev(`identify user=sophie anon=laptop traits={"email":"s@x.fr"} at=0`),
		// Marc logs in on Sophie's laptop: the laptop stays with Sophie.
		ev("identify user=marc anon=laptop at=1"),
		// A form sends Sophie's email with Marc's id: not merged.
		ev(`identify user=marc traits={"email":"s@x.fr"} at=2`),
		// Junk ids never match.
		ev("track anon=undefined event=Page_Viewed at=3"),
		ev("track user=null anon=0 event=Page_Viewed at=4"),
	)
	run(t, s, unify.NewProcessor(s, unify.Options{}), 100)
	sophie := find(t, s, identity.Identifier{Kind: identity.UserID, Value: "sophie"})
	marc := find(t, s, identity.Identifier{Kind: identity.UserID, Value: "marc"})
	if sophie.ID == marc.ID || len(marc.Identifiers) != 1 {
		t.Fatalf("sophie %+v, marc %+v", sophie.Identifiers, marc.Identifiers)
	}
	refusals, _ := s.Refusals(context.Background(), marc.ID, 10)
	if len(refusals) != 2 || refusals[0].Holder != sophie.ID || !strings.Contains(refusals[0].Reason, "user id") {
		t.Fatalf("refusals %+v", refusals)
	}
	if n, _ := s.ProfileCount(context.Background()); n != 2 {
		t.Fatalf("%d profiles, want 2 (junk ids make none)", n)
	}
}

// snapshot describes every profile by content (not by id, which depends on
// arrival order): identifiers, traits with provenance, computed traits,
// timeline length.
func snapshot(t *testing.T, s *sqlite.Store) string {
	t.Helper()
	list, err := s.ListProfiles(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range list {
		var ids []string
		for _, id := range p.Identifiers {
			ids = append(ids, id.String())
		}
		sort.Strings(ids)
		traits := map[string]string{}
		for k, v := range p.Traits {
			traits[k] = string(v.Value) + "@" + v.MessageID
		}
		c := profile.Computed(p, &profile.Env{Now: t0.Add(1000 * time.Hour)})
		tl := timeline(t, s, p.ID)
		b, _ := json.Marshal(map[string]any{"ids": ids, "traits": traits, "computed": c, "timeline": len(tl)})
		out = append(out, string(b))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// stream is a varied multi-customer stream without identity conflicts.
func stream(seed uint64) []*event.Event {
	rng := rand.New(rand.NewPCG(seed, 5))
	var out []*event.Event
	for c := range 12 {
		user, email := fmt.Sprintf("u%d", c), fmt.Sprintf("c%d@x.fr", c)
		devices := []string{fmt.Sprintf("d%d-a", c), fmt.Sprintf("d%d-b", c)}
		for i := range 15 {
			at := rng.IntN(300)
			dev := devices[rng.IntN(2)]
			var spec string
			switch rng.IntN(6) {
			case 0:
				spec = fmt.Sprintf(`identify user=%s anon=%s traits={"email":"%s","tier":%d} at=%d`, user, dev, email, rng.IntN(3), at)
			case 1:
				spec = fmt.Sprintf(`track user=%s event=Order_Completed ch=pos props={"total":%d.5,"products":[{"category":"bags"}]} at=%d`, user, rng.IntN(90), at)
			case 2:
				spec = fmt.Sprintf(`track anon=%s event=Product_Added props={"sku":"S%d"} at=%d`, dev, rng.IntN(3), at)
			case 3:
				spec = fmt.Sprintf(`identify anon=%s traits={"city":"c%d"} at=%d`, dev, rng.IntN(4), at)
			default:
				spec = fmt.Sprintf(`track anon=%s event=Product_Viewed props={"category":"k%d"} ch=ios at=%d`, dev, rng.IntN(4), at)
			}
			e := ev(spec)
			e.MessageID = fmt.Sprintf("c%d-e%d", c, i)
			out = append(out, e)
		}
		// Each customer's devices are linked to the user id at some point.
		for _, d := range devices {
			e := ev(fmt.Sprintf("identify user=%s anon=%s at=%d", user, d, rng.IntN(300)))
			e.MessageID = "link-" + d
			out = append(out, e)
		}
	}
	return out
}

func clone(events []*event.Event) []*event.Event {
	out := make([]*event.Event, len(events))
	for i, e := range events {
		c := *e
		out[i] = &c
	}
	return out
}

// TestArrivalOrderDoesNotChangeProfiles appends the same events in shuffled
// orders to fresh stores: the profiles must come out the same.
func TestArrivalOrderDoesNotChangeProfiles(t *testing.T) {
	events := stream(1)
	var want string
	for round := range 6 {
		s := openStore(t)
		evs := clone(events)
		if round > 0 {
			rng := rand.New(rand.NewPCG(uint64(round), 11))
			rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		}
		if err := s.Append(context.Background(), evs, nil); err != nil {
			t.Fatal(err)
		}
		run(t, s, unify.NewProcessor(s, unify.Options{}), 17)
		got := snapshot(t, s)
		if round == 0 {
			want = got
			if strings.Count(want, "\n") != 11 {
				t.Fatalf("expected 12 profiles:\n%s", want)
			}
			continue
		}
		if got != want {
			t.Fatalf("round %d: arrival order changed the profiles", round)
		}
	}
}

// TestReplayEqualsLive processes the log live (in small batches, emitting
// internal events), then replays it: the profiles must be identical.
func TestReplayEqualsLive(t *testing.T) {
	s := openStore(t)
	if err := s.Append(context.Background(), stream(2), nil); err != nil {
		t.Fatal(err)
	}
	p := unify.NewProcessor(s, unify.Options{Emit: collectSink{s}, Clock: clock.NewFake(t0)})
	run(t, s, p, 7)
	run(t, s, p, 7)
	live := snapshot(t, s)
	var done int64
	if err := unify.Replay(context.Background(), s, unify.Options{}, func(d, _ int64) { done = d }); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastSeq(context.Background()); done != last {
		t.Fatalf("replay stopped at %d of %d", done, last)
	}
	if got := snapshot(t, s); got != live {
		t.Fatalf("replay differs from live:\n live %s\n replay %s", live, got)
	}
}

func TestUnmergeSplitsAWrongMerge(t *testing.T) {
	s := openStore(t)
	feed(t, s,
		ev(`identify user=sophie traits={"email":"s@x.fr","city":"Lyon"} at=0`),
		ev(`track user=sophie event=Order_Completed props={"total":100} at=1`),
		ev(`identify anon=shop-tablet traits={"city":"Paris"} at=2`),
		ev(`track anon=shop-tablet event=Order_Completed props={"total":30} at=3`),
		// The tablet was handed Sophie's loyalty card by mistake.
		ev(`identify user=sophie anon=shop-tablet at=4`),
	)
	stage := unify.NewStage(s, unify.Options{Clock: clock.NewFake(t0)})
	run(t, s, unify.NewProcessor(s, unify.Options{}), 100)
	merged := find(t, s, identity.Identifier{Kind: identity.UserID, Value: "sophie"})
	if string(merged.Traits["city"].Value) != `"Paris"` || merged.Agg.Orders != 2 {
		t.Fatalf("before unmerge: %v, %d orders", merged.Traits, merged.Agg.Orders)
	}
	log, _ := s.MergeLog(context.Background(), merged.ID)
	if len(log) != 1 {
		t.Fatalf("merge log %+v", log)
	}
	owners, err := stage.Unmerge(context.Background(), merged.ID, log[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	sophie := find(t, s, identity.Identifier{Kind: identity.UserID, Value: "sophie"})
	tablet := find(t, s, identity.Identifier{Kind: identity.AnonymousID, Value: "shop-tablet"})
	if len(owners) != 2 || sophie.ID == tablet.ID || !slices.Contains(owners, sophie.ID) || !slices.Contains(owners, tablet.ID) {
		t.Fatalf("owners %v, sophie %d, tablet %d", owners, sophie.ID, tablet.ID)
	}
	if string(sophie.Traits["city"].Value) != `"Lyon"` || sophie.Agg.Orders != 1 || len(timeline(t, s, sophie.ID)) != 3 {
		t.Fatalf("sophie after unmerge: %v, %d orders, timeline %v", sophie.Traits, sophie.Agg.Orders, timeline(t, s, sophie.ID))
	}
	if string(tablet.Traits["city"].Value) != `"Paris"` || tablet.Agg.Orders != 1 || len(timeline(t, s, tablet.ID)) != 2 {
		t.Fatalf("tablet after unmerge: %v, %d orders, timeline %v", tablet.Traits, tablet.Agg.Orders, timeline(t, s, tablet.ID))
	}
	// A replay keeps the split: the exclusion is part of the state.
	before := snapshot(t, s)
	if err := unify.Replay(context.Background(), s, unify.Options{}, nil); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, s); got != before {
		t.Fatalf("replay after unmerge differs:\n%s\n%s", before, got)
	}
}

// loadCounter counts the store's LoadProfiles calls.
type loadCounter struct {
	*sqlite.Store
	loads int
}

func (c *loadCounter) LoadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, error) {
	if len(ids) > 0 {
		c.loads++
	}
	return c.Store.LoadProfiles(ctx, ids)
}

// TestOwnEventsReachTheTimelinesInOneRead: Parcours' own events (a
// broadcast's Message Sent) land on their profiles' timelines — a merged
// profile's on the winner's, in a later batch too — with one read of the
// profiles a batch, not one per event, and without the profiles being
// kept by the processor.
func TestOwnEventsReachTheTimelinesInOneRead(t *testing.T) {
	s := openStore(t)
	const n = 50
	var people []*event.Event
	for i := range n {
		people = append(people, ev(fmt.Sprintf("identify user=u%d email=u%d@x.test at=%d", i, i, i)))
	}
	// An anonymous visitor, then known as u1: the visitor's profile
	// merges into u1's.
	people = append(people, ev("track event=Page_Viewed anon=a1 at=50"))
	feed(t, s, people...)
	p := unify.NewProcessor(s, unify.Options{})
	run(t, s, p, 1000)
	merged := find(t, s, identity.Identifier{Kind: "anonymous_id", Value: "a1"}).ID
	feed(t, s, ev("identify user=u1 anon=a1 at=60"))
	run(t, s, p, 1000)
	if pr, err := s.Profile(context.Background(), merged); err != nil || pr.ID == merged {
		t.Fatalf("the visitor's profile %d was not merged: %v, %v", merged, pr, err)
	}
	ids := make([]int64, n)
	for i := range n {
		ids[i] = find(t, s, identity.Identifier{Kind: "user_id", Value: fmt.Sprintf("u%d", i)}).ID
	}
	var sent []*event.Event
	for i, id := range ids {
		sent = append(sent, ev(fmt.Sprintf(`track event=Message_Sent ch=internal at=%d id=sent-%d props={"profileId":%d}`, 100+i, i, id)))
	}
	sent = append(sent, ev(fmt.Sprintf(`track event=Message_Sent ch=internal at=200 id=sent-merged props={"profileId":%d}`, merged)))
	feed(t, s, sent...)
	c := &loadCounter{Store: s}
	p2 := unify.NewProcessor(c, unify.Options{})
	// A fresh processor: reads the profiles again.
	run(t, s, p2, 1000)
	// One read for the batch, one more for the merged profile (not
	// live: the store says where it went).
	if c.loads != 2 {
		t.Fatalf("%d profile reads for a batch of %d own events, want 2", c.loads, len(sent))
	}
	for i, id := range ids {
		got := timeline(t, s, id)
		want := 1
		if id == ids[1] {
			want = 2 // its own and the merged profile's
		}
		count := 0
		for _, name := range got {
			if name == "Message Senttrack" {
				count++
			}
		}
		if count != want {
			t.Fatalf("u%d's timeline holds %d Message Sent, want %d: %v", i, count, want, got)
		}
	}
}
