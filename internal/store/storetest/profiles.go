package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// profileStore is an engine that also keeps unify's state.
type profileStore interface {
	store.Store
	store.Profiles
	ProfileEvents(ctx context.Context, from, to int64, names []string) ([]store.ProfileEvent, error)
}

// runProfiles runs the tests of store.Profiles.
func runProfiles(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, profileStore)
	}{
		{"ApplyAndRead", testApplyAndRead},
		{"MergeMovesEverything", testMergeMovesEverything},
		{"TimelineFiltersAndPaging", testTimeline},
		{"ResetAndForget", testResetAndForget},
		{"ExclusionsAndRFM", testExclusionsAndRFM},
		{"ProfileEvents", testProfileEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func ident(kind identity.Kind, v string) identity.Identifier {
	return identity.Identifier{Kind: kind, Value: v}
}

// seed appends n track events and returns them.
func seed(t *testing.T, s profileStore, n int) []*event.Event {
	t.Helper()
	var batch []*event.Event
	for i := range n {
		e := Event("web", fmt.Sprint("e", i), "u", t0.Add(time.Duration(i)*time.Hour))
		if i%3 == 2 {
			e.Event = "Order Completed"
			e.Channel = "pos"
		}
		batch = append(batch, e)
	}
	if err := s.Append(context.Background(), batch, nil); err != nil {
		t.Fatal(err)
	}
	return batch
}

func newProfile(id int64, ids ...identity.Identifier) *profile.Profile {
	p := profile.New(id)
	p.Identifiers = ids
	p.SetTrait("email", profile.Trait{Value: json.RawMessage(`"a@b.fr"`), At: t0, SourceID: "web", MessageID: "m"})
	return p
}

func testApplyAndRead(t *testing.T, s profileStore) {
	ctx := context.Background()
	evs := seed(t, s, 3)
	a, b := ident(identity.UserID, "u1"), ident(identity.Email, "a@b.fr")
	p := newProfile(evs[0].Seq, a, b)
	batch := &store.UnifyBatch{
		Consumer: "unify", Checkpoint: evs[2].Seq,
		Profiles: []*profile.Profile{p},
		Links:    []store.Link{{Identifier: a, Profile: p.ID}, {Identifier: b, Profile: p.ID}},
		Timeline: []store.TimelineEntry{{Profile: p.ID, Seq: evs[0].Seq, At: evs[0].Timestamp}, {Profile: p.ID, Seq: evs[1].Seq, At: evs[1].Timestamp}},
		Refusals: []store.RefusalRecord{{At: t0, EventSeq: evs[2].Seq, Profile: p.ID, Identifier: ident(identity.UserID, "u2"), Reason: "limit"}},
	}
	if err := s.ApplyUnify(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if cp, _ := s.Checkpoint(ctx, "unify"); cp != evs[2].Seq {
		t.Fatalf("checkpoint %d, want %d", cp, evs[2].Seq)
	}
	holders, err := s.Holders(ctx, []identity.Identifier{a, b, ident(identity.Phone, "+33600000001")})
	if err != nil || len(holders) != 2 || holders[a] != p.ID {
		t.Fatalf("Holders = %v, %v", holders, err)
	}
	got, err := s.Profile(ctx, p.ID)
	if err != nil || got.ID != p.ID || len(got.Identifiers) != 2 || string(got.Traits["email"].Value) != `"a@b.fr"` {
		t.Fatalf("Profile = %+v, %v", got, err)
	}
	loaded, err := s.LoadProfiles(ctx, []int64{p.ID, 999})
	if err != nil || len(loaded) != 1 {
		t.Fatalf("LoadProfiles = %v, %v", loaded, err)
	}
	if _, err := s.Profile(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Profile(unknown) = %v, want ErrNotFound", err)
	}
	if seqs, _ := s.ProfileSeqs(ctx, p.ID); fmt.Sprint(seqs) != fmt.Sprint([]int64{evs[0].Seq, evs[1].Seq}) {
		t.Fatalf("ProfileSeqs = %v", seqs)
	}
	if r, _ := s.Refusals(ctx, p.ID, 10); len(r) != 1 || r[0].Reason != "limit" || r[0].Identifier.Value != "u2" {
		t.Fatalf("Refusals = %+v", r)
	}
	if n, _ := s.ProfileCount(ctx); n != 1 {
		t.Fatalf("ProfileCount = %d", n)
	}
	if list, err := s.ListProfiles(ctx, 0, 10); err != nil || len(list) != 1 || list[0].ID != p.ID || len(list[0].Identifiers) != 2 {
		t.Fatalf("ListProfiles = %v, %v", list, err)
	}
	if list, _ := s.ListProfiles(ctx, p.ID, 10); len(list) != 0 {
		t.Fatalf("ListProfiles after the last = %v", list)
	}
}

func testMergeMovesEverything(t *testing.T, s profileStore) {
	ctx := context.Background()
	evs := seed(t, s, 4)
	anon, user := ident(identity.AnonymousID, "a"), ident(identity.UserID, "u")
	p1, p2 := newProfile(evs[0].Seq, anon), newProfile(evs[1].Seq, user)
	if err := s.ApplyUnify(ctx, &store.UnifyBatch{Consumer: "unify", Checkpoint: evs[1].Seq,
		Profiles: []*profile.Profile{p1, p2},
		Links:    []store.Link{{Identifier: anon, Profile: p1.ID}, {Identifier: user, Profile: p2.ID}},
		Timeline: []store.TimelineEntry{{Profile: p1.ID, Seq: evs[0].Seq, At: evs[0].Timestamp}, {Profile: p2.ID, Seq: evs[1].Seq, At: evs[1].Timestamp}},
	}); err != nil {
		t.Fatal(err)
	}
	// p2 is merged into p1 by the third event.
	p1.Merge(p2)
	if err := s.ApplyUnify(ctx, &store.UnifyBatch{Consumer: "unify", Checkpoint: evs[2].Seq,
		Merged:   []store.MergedProfile{{ID: p2.ID, Into: p1.ID}},
		Profiles: []*profile.Profile{p1},
		Timeline: []store.TimelineEntry{{Profile: p1.ID, Seq: evs[2].Seq, At: evs[2].Timestamp}},
		Merges:   []store.MergeRecord{{At: evs[2].Timestamp, EventSeq: evs[2].Seq, Profile: p1.ID, Merged: p2.ID, Identifiers: []identity.Identifier{anon, user}}},
	}); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.Holders(ctx, []identity.Identifier{user}); h[user] != p1.ID {
		t.Fatalf("user id held by %d, want %d", h[user], p1.ID)
	}
	if seqs, _ := s.ProfileSeqs(ctx, p1.ID); len(seqs) != 3 {
		t.Fatalf("merged timeline %v", seqs)
	}
	if seqs, _ := s.ProfileSeqs(ctx, p2.ID); len(seqs) != 0 {
		t.Fatalf("merged-away profile keeps a timeline %v", seqs)
	}
	// The old id leads to the surviving profile.
	if got, err := s.Profile(ctx, p2.ID); err != nil || got.ID != p1.ID {
		t.Fatalf("Profile(merged) = %v, %v", got, err)
	}
	if loaded, _ := s.LoadProfiles(ctx, []int64{p2.ID}); len(loaded) != 0 {
		t.Fatalf("LoadProfiles returned a merged profile")
	}
	log, err := s.MergeLog(ctx, p2.ID)
	if err != nil || len(log) != 1 || log[0].Profile != p1.ID || len(log[0].Identifiers) != 2 {
		t.Fatalf("MergeLog = %+v, %v", log, err)
	}
}

func testTimeline(t *testing.T, s profileStore) {
	ctx := context.Background()
	evs := seed(t, s, 9)
	p := newProfile(evs[0].Seq)
	b := &store.UnifyBatch{Consumer: "unify", Checkpoint: evs[8].Seq, Profiles: []*profile.Profile{p}}
	for _, e := range evs {
		b.Timeline = append(b.Timeline, store.TimelineEntry{Profile: p.ID, Seq: e.Seq, At: e.Timestamp})
	}
	if err := s.ApplyUnify(ctx, b); err != nil {
		t.Fatal(err)
	}
	ids := func(q store.TimelineQuery) string {
		q.Profile = p.ID
		list, err := s.Timeline(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range list {
			out = append(out, e.MessageID)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		q    store.TimelineQuery
		want string
	}{
		{store.TimelineQuery{Limit: 3}, "[e8 e7 e6]"},
		{store.TimelineQuery{Event: "Order Completed"}, "[e8 e5 e2]"},
		{store.TimelineQuery{Channel: "pos", Limit: 2}, "[e8 e5]"},
		{store.TimelineQuery{Since: t0.Add(2 * time.Hour), Until: t0.Add(4 * time.Hour)}, "[e3 e2]"},
		{store.TimelineQuery{BeforeAt: evs[6].Timestamp, BeforeSeq: evs[6].Seq, Limit: 2}, "[e5 e4]"},
		{store.TimelineQuery{Type: event.Identify}, "[]"},
	} {
		if got := ids(c.q); got != c.want {
			t.Errorf("%+v: got %s, want %s", c.q, got, c.want)
		}
	}
}

func testResetAndForget(t *testing.T, s profileStore) {
	ctx := context.Background()
	evs := seed(t, s, 2)
	a := ident(identity.AnonymousID, "a")
	p := newProfile(evs[0].Seq, a)
	apply := func() {
		if err := s.ApplyUnify(ctx, &store.UnifyBatch{Consumer: "unify", Checkpoint: evs[1].Seq,
			Profiles: []*profile.Profile{p}, Links: []store.Link{{Identifier: a, Profile: p.ID}},
			Timeline: []store.TimelineEntry{{Profile: p.ID, Seq: evs[0].Seq, At: evs[0].Timestamp}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	apply()
	if err := s.ForgetProfile(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Profile(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("forgotten profile still there: %v", err)
	}
	if h, _ := s.Holders(ctx, []identity.Identifier{a}); len(h) != 0 {
		t.Fatalf("forgotten profile's identifier still held: %v", h)
	}
	apply()
	if err := s.ResetUnify(ctx, "unify"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.ProfileCount(ctx); n != 0 {
		t.Fatalf("%d profiles after reset", n)
	}
	if cp, _ := s.Checkpoint(ctx, "unify"); cp != 0 {
		t.Fatalf("checkpoint %d after reset", cp)
	}
	if all, _ := s.ReadAfter(ctx, 0, 10); len(all) != 2 {
		t.Fatalf("reset touched the event log: %d events", len(all))
	}
}

func testExclusionsAndRFM(t *testing.T, s profileStore) {
	ctx := context.Background()
	x := store.Exclusion{EventSeq: 7, Identifier: ident(identity.Email, "a@b.fr")}
	for range 2 {
		if err := s.AddExclusion(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := s.Exclusions(ctx); err != nil || len(list) != 1 || list[0] != x {
		t.Fatalf("Exclusions = %v, %v", list, err)
	}
	if r, err := s.LoadRFM(ctx); err != nil || r != nil {
		t.Fatalf("LoadRFM before any scoring = %v, %v", r, err)
	}
	evs := seed(t, s, 1)
	p := newProfile(evs[0].Seq)
	p.Apply(&event.Event{Type: event.Track, Event: "Order Completed", Timestamp: t0, Channel: "web", Properties: json.RawMessage(`{"total":12.5}`)})
	if err := s.ApplyUnify(ctx, &store.UnifyBatch{Consumer: "unify", Checkpoint: evs[0].Seq, Profiles: []*profile.Profile{p}}); err != nil {
		t.Fatal(err)
	}
	in, err := s.RFMInputs(ctx)
	if err != nil || len(in) != 1 || in[0].Orders != 1 || in[0].Revenue != 1250 {
		t.Fatalf("RFMInputs = %+v, %v", in, err)
	}
	scored := profile.ScoreRFM(in, t0)
	if err := s.SaveRFM(ctx, scored); err != nil {
		t.Fatal(err)
	}
	r, err := s.LoadRFM(ctx)
	if err != nil || !r.At.Equal(t0) || r.Scores[p.ID].Score != "555" {
		t.Fatalf("LoadRFM = %+v, %v", r, err)
	}
}

// testProfileEvents reads a range of profiles' timelines, filtered by
// track event name or whole.
func testProfileEvents(t *testing.T, s profileStore) {
	ctx := context.Background()
	events := seed(t, s, 6) // e2 and e5 are Order Completed
	b := &store.UnifyBatch{Consumer: "unify", Checkpoint: events[5].Seq,
		Profiles: []*profile.Profile{newProfile(1), newProfile(2), newProfile(3)}}
	for i, e := range events {
		b.Timeline = append(b.Timeline, store.TimelineEntry{Profile: int64(1 + i%3), Seq: e.Seq, At: e.Timestamp})
	}
	if err := s.ApplyUnify(ctx, b); err != nil {
		t.Fatal(err)
	}
	all, err := s.ProfileEvents(ctx, 1, 2, nil)
	if err != nil || len(all) != 4 {
		t.Fatalf("profiles 1-2, every event: %d events, %v", len(all), err)
	}
	orders, err := s.ProfileEvents(ctx, 1, 3, []string{"Order Completed"})
	if err != nil || len(orders) != 2 || orders[0].Profile != 3 || orders[0].Event.Event != "Order Completed" || orders[0].Event.Seq == 0 {
		t.Fatalf("orders: %+v, %v", orders, err)
	}
	if none, err := s.ProfileEvents(ctx, 1, 3, []string{}); err != nil || len(none) != 0 {
		t.Fatalf("no names: %v, %v", none, err)
	}
}
