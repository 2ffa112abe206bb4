// Package storetest is the conformance suite every store engine passes.
// An engine's test calls Run with a function that opens a fresh, migrated,
// empty store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
)

// Opener returns a fresh, migrated, empty store, closed when t ends.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite: every part an engine keeps, each test on a
// store of its own. It is the one entry point; an engine's test calls it
// once (River's riverdrivertest.Exercise is the model).
func Run(t *testing.T, open Opener) {
	t.Run("EventLog", func(t *testing.T) { runEventLog(t, open) })
	t.Run("EventLogWithTail", func(t *testing.T) { runEventLog(t, withTail(open)) })
	t.Run("Profiles", func(t *testing.T) { runProfiles(t, open) })
	t.Run("Segments", func(t *testing.T) { runSegments(t, open) })
	t.Run("Journeys", func(t *testing.T) { runJourneys(t, open) })
	t.Run("Commerce", func(t *testing.T) { runCommerce(t, open) })
	t.Run("Messages", func(t *testing.T) { runMessages(t, open) })
	t.Run("Measure", func(t *testing.T) { runMeasure(t, open) })
	t.Run("Privacy", func(t *testing.T) { runPrivacy(t, open) })
	t.Run("Surveys", func(t *testing.T) { runSurveys(t, open) })
	t.Run("Conversations", func(t *testing.T) { runConversations(t, open) })
	t.Run("Loyalty", func(t *testing.T) { runLoyalty(t, open) })
}

// runEventLog runs the tests of the event log, sources, checkpoints and
// admin keys.
func runEventLog(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"MigrateTwice", testMigrateTwice},
		{"Sources", testSources},
		{"AppendAndRead", testAppendAndRead},
		{"Dedup", testDedup},
		{"DedupWithinBatch", testDedupWithinBatch},
		{"PruneDedup", testPruneDedup},
		{"ConcurrentAppendsKeepOrder", testConcurrentAppends},
		{"ListEvents", testListEvents},
		{"FollowerNeverSkips", testFollowerNeverSkips},
		{"Rejections", testRejections},
		{"HostileValues", testHostileValues},
		{"Checkpoints", testCheckpoints},
		{"AdminKeys", testAdminKeys},
		{"RequestKeys", testRequestKeys},
		{"Users", testUsers},
		{"APIKeys", testAPIKeys},
		{"Sessions", testSessions},
		{"AuditLog", testAuditLog},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// withTail opens stores that keep a small tail of what they append
// (store.Tail, 64 events, so that reads cross its edge and evictions): the
// event log must behave the same with one.
func withTail(open Opener) Opener {
	return func(t *testing.T) store.Store {
		s := open(t)
		tl, ok := s.(store.Tailed)
		if !ok {
			t.Skip("the engine keeps no tail")
		}
		tl.UseTail(store.NewTail(64, 0))
		return s
	}
}

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// Event builds a valid track event for tests.
func Event(src, msgID, user string, at time.Time) *event.Event {
	return &event.Event{
		MessageID:  msgID,
		Type:       event.Track,
		Event:      "Product Viewed",
		UserID:     user,
		Properties: json.RawMessage(`{"sku":"SHOE-42","price":89.9}`),
		Context:    json.RawMessage(`{"library":{"name":"test"}}`),
		Timestamp:  at,
		ReceivedAt: at.Add(time.Second),
		SourceID:   src,
		Channel:    "web",
	}
}

func testMigrateTwice(t *testing.T, s store.Store) {
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testSources(t *testing.T, s store.Store) {
	ctx := context.Background()
	web, _ := source.New("Web shop", "web", "", t0)
	pos, _ := source.New("Lyon store", "pos", "lyon-01", t0.Add(time.Minute))
	for _, src := range []*source.Source{web, pos} {
		if err := s.CreateSource(ctx, src); err != nil {
			t.Fatalf("CreateSource(%s): %v", src.Name, err)
		}
	}
	dup, _ := source.New("Web shop", "ios", "", t0)
	if err := s.CreateSource(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateSource with a taken name: got %v, want ErrConflict", err)
	}
	got, err := s.SourceByWriteKey(ctx, pos.WriteKey)
	if err != nil {
		t.Fatalf("SourceByWriteKey: %v", err)
	}
	if got.ID != pos.ID || got.StoreID != "lyon-01" || got.Channel != "pos" || !got.Created.Equal(pos.Created) || !got.Enabled() {
		t.Fatalf("SourceByWriteKey = %+v, want %+v", got, pos)
	}
	for _, key := range []string{web.ID, "Web shop"} {
		if got, err := s.Source(ctx, key); err != nil || got.ID != web.ID {
			t.Fatalf("Source(%q) = %v, %v", key, got, err)
		}
	}
	if _, err := s.SourceByWriteKey(ctx, "wk_nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown write key: got %v, want ErrNotFound", err)
	}
	if err := s.DisableSource(ctx, web.ID, t0.Add(time.Hour)); err != nil {
		t.Fatalf("DisableSource: %v", err)
	}
	if err := s.DisableSource(ctx, web.ID, t0.Add(2*time.Hour)); err != nil {
		t.Fatalf("DisableSource again: %v", err)
	}
	if err := s.DisableSource(ctx, "src_nope", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DisableSource(unknown): got %v, want ErrNotFound", err)
	}
	list, err := s.ListSources(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListSources = %v, %v", list, err)
	}
	if list[0].ID != web.ID || list[0].Enabled() || !list[0].Disabled.Equal(t0.Add(time.Hour)) {
		t.Fatalf("disabled source = %+v, want disabled at %v", list[0], t0.Add(time.Hour))
	}
}

func testAppendAndRead(t *testing.T, s store.Store) {
	ctx := context.Background()
	in := Event("src_a", "m1", "u1", t0)
	in.OriginalTimestamp = t0.Add(-time.Hour)
	in.SentAt = t0.Add(-time.Hour + time.Second)
	in.StoreID = "lyon-01"
	in2 := Event("src_a", "m2", "", t0.Add(time.Second))
	in2.AnonymousID = "anon-1"
	in2.Imported = true // stored by parcours import: history, kept in the body
	if err := s.Append(ctx, []*event.Event{in, in2}, nil); err != nil {
		t.Fatalf("Append: %v", err)
	}
	if in.Seq <= 0 || in2.Seq <= in.Seq {
		t.Fatalf("seqs = %d, %d; want increasing and positive", in.Seq, in2.Seq)
	}
	got, err := s.ReadAfter(ctx, 0, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("ReadAfter = %d events, %v", len(got), err)
	}
	if diff := compareEvents(got[0], in); diff != "" {
		t.Fatalf("read back differs: %s", diff)
	}
	if diff := compareEvents(got[1], in2); diff != "" || !got[1].Imported {
		t.Fatalf("imported event read back differs: %s", diff)
	}
	if got, _ := s.ReadAfter(ctx, in.Seq, 10); len(got) != 1 || got[0].MessageID != "m2" {
		t.Fatalf("ReadAfter(first) = %v", got)
	}
	if last, err := s.LastSeq(ctx); err != nil || last != in2.Seq {
		t.Fatalf("LastSeq = %d, %v; want %d", last, err, in2.Seq)
	}
}

func compareEvents(got, want *event.Event) string {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	var gm, wm map[string]any
	_ = json.Unmarshal(g, &gm)
	_ = json.Unmarshal(w, &wm)
	if fmt.Sprint(gm) != fmt.Sprint(wm) {
		return fmt.Sprintf("\n got %s\nwant %s", g, w)
	}
	return ""
}

func testDedup(t *testing.T, s store.Store) {
	ctx := context.Background()
	// Once as appended, once after background indexes (if any) caught up.
	for round, flush := range []bool{false, true} {
		id := fmt.Sprint("m", round)
		a := Event("src_a", id, "u1", t0)
		if err := s.Append(ctx, []*event.Event{a}, nil); err != nil {
			t.Fatal(err)
		}
		if f, ok := s.(Flusher); ok && flush {
			if err := f.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		again := Event("src_a", id, "u1", t0)
		other := Event("src_b", id, "u1", t0) // same id, other source: not a duplicate
		if err := s.Append(ctx, []*event.Event{again, other}, nil); err != nil {
			t.Fatal(err)
		}
		if again.Seq != 0 {
			t.Fatalf("flushed %v: resent event stored again with seq %d", flush, again.Seq)
		}
		if other.Seq == 0 {
			t.Fatalf("flushed %v: same messageId from another source treated as a duplicate", flush)
		}
	}
	if got, _ := s.ReadAfter(ctx, 0, 10); len(got) != 4 {
		t.Fatalf("log holds %d events, want 4", len(got))
	}
}

func testDedupWithinBatch(t *testing.T, s store.Store) {
	ctx := context.Background()
	batch := []*event.Event{Event("s", "x", "u", t0), Event("s", "y", "u", t0), Event("s", "x", "u", t0)}
	if err := s.Append(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	if batch[0].Seq == 0 || batch[1].Seq == 0 || batch[2].Seq != 0 {
		t.Fatalf("seqs = %d %d %d; want the second x to be a duplicate", batch[0].Seq, batch[1].Seq, batch[2].Seq)
	}
	if got, _ := s.ReadAfter(ctx, 0, 10); len(got) != 2 {
		t.Fatalf("log holds %d events, want 2", len(got))
	}
}

func testPruneDedup(t *testing.T, s store.Store) {
	ctx := context.Background()
	old := Event("s", "old", "u", t0)
	recent := Event("s", "recent", "u", t0.Add(48*time.Hour))
	if err := s.Append(ctx, []*event.Event{old, recent}, nil); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneDedup(ctx, t0.Add(24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("PruneDedup = %d, %v; want 1", n, err)
	}
	reOld, reRecent := Event("s", "old", "u", t0), Event("s", "recent", "u", t0)
	if err := s.Append(ctx, []*event.Event{reOld, reRecent}, nil); err != nil {
		t.Fatal(err)
	}
	if reOld.Seq == 0 || reRecent.Seq != 0 {
		t.Fatalf("after pruning: old seq %d (want stored), recent seq %d (want duplicate)", reOld.Seq, reRecent.Seq)
	}
}

// appendConcurrently appends writers x batches x size events from writers
// goroutines and returns a channel closed when they are done.
func appendConcurrently(t *testing.T, s store.Store, prefix string, writers, batches, size int) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var batch []*event.Event
				for i := range size {
					batch = append(batch, Event("s", fmt.Sprintf("%s%d-%d-%d", prefix, w, b, i), "u", t0))
				}
				if err := s.Append(context.Background(), batch, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	return done
}

func testConcurrentAppends(t *testing.T, s store.Store) {
	const writers, batches, size = 4, 10, 20
	<-appendConcurrently(t, s, "w", writers, batches, size)
	all, err := s.ReadAfter(context.Background(), 0, writers*batches*size+10)
	if err != nil || len(all) != writers*batches*size {
		t.Fatalf("ReadAfter = %d events, %v; want %d", len(all), err, writers*batches*size)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Fatalf("seq not increasing at %d: %d after %d", i, all[i].Seq, all[i-1].Seq)
		}
	}
}

func testListEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	var batch []*event.Event
	for i := range 10 {
		e := Event("web", fmt.Sprintf("m%d", i), "", t0.Add(time.Duration(i)*time.Hour))
		if i%2 == 0 {
			e.UserID = "alice"
		} else {
			e.AnonymousID = "anon-bob"
		}
		if i == 9 {
			e.SourceID = "pos"
			e.Type, e.Event = event.Identify, ""
		}
		batch = append(batch, e)
	}
	if err := s.Append(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	ids := func(es []*event.Event) (out []string) {
		for _, e := range es {
			out = append(out, e.MessageID)
		}
		return out
	}
	cases := []struct {
		name string
		q    store.EventQuery
		want string
	}{
		{"newest first", store.EventQuery{Limit: 3}, "[m9 m8 m7]"},
		{"oldest first", store.EventQuery{Limit: 3, Ascending: true}, "[m0 m1 m2]"},
		{"user", store.EventQuery{UserID: "alice", Limit: 2}, "[m8 m6]"},
		{"anonymous", store.EventQuery{AnonymousID: "anon-bob", Ascending: true}, "[m1 m3 m5 m7 m9]"},
		{"identifier", store.EventQuery{Identifier: "alice", Ascending: true}, "[m0 m2 m4 m6 m8]"},
		{"type", store.EventQuery{Type: event.Identify}, "[m9]"},
		{"event name", store.EventQuery{Event: "Product Viewed", Limit: 1}, "[m8]"},
		{"source", store.EventQuery{SourceID: "pos"}, "[m9]"},
		{"time range", store.EventQuery{Since: t0.Add(2 * time.Hour), Until: t0.Add(4 * time.Hour), Ascending: true}, "[m2 m3]"},
		{"page after", store.EventQuery{After: batch[7].Seq, Ascending: true}, "[m8 m9]"},
		{"page before", store.EventQuery{Before: batch[2].Seq}, "[m1 m0]"},
		{"no match", store.EventQuery{UserID: "nobody"}, "[]"},
	}
	check := func(when string) {
		for _, c := range cases {
			got, err := s.ListEvents(ctx, c.q)
			if err != nil {
				t.Fatalf("%s %s: %v", when, c.name, err)
			}
			if g := fmt.Sprint(ids(got)); g != c.want {
				t.Errorf("%s %s: got %s, want %s", when, c.name, g, c.want)
			}
		}
	}
	check("before indexing:")
	// Engines that index in the background answer the same once they have.
	if f, ok := s.(Flusher); ok {
		if err := f.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		check("indexed:")
		// Part indexed, part not.
		more := Event("web", "m10", "alice", t0.Add(10*time.Hour))
		if err := s.Append(ctx, []*event.Event{more}, nil); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ListEvents(ctx, store.EventQuery{UserID: "alice", Limit: 2}); fmt.Sprint(ids(got)) != "[m10 m8]" {
			t.Errorf("half indexed: got %v", ids(got))
		}
	}
}

// Flusher is implemented by engines that maintain indexes in the background:
// Flush brings them up to date.
type Flusher interface {
	Flush(ctx context.Context) error
}

// testFollowerNeverSkips appends from several goroutines while a reader
// follows the log with ReadAfter(last seen): sequence numbers must be
// committed in order, or the reader would step over one committed late.
func testFollowerNeverSkips(t *testing.T, s store.Store) {
	ctx := context.Background()
	const writers, batches, size = 4, 25, 10
	done := appendConcurrently(t, s, "f", writers, batches, size)
	seen := map[string]bool{}
	var last int64
	for {
		finished := false
		select {
		case <-done:
			finished = true
		default:
		}
		got, err := s.ReadAfter(ctx, last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range got {
			seen[e.MessageID] = true
			last = e.Seq
		}
		if finished && len(got) == 0 {
			break
		}
	}
	if len(seen) != writers*batches*size {
		t.Fatalf("the follower saw %d events of %d", len(seen), writers*batches*size)
	}
}

func testRejections(t *testing.T, s store.Store) {
	ctx := context.Background()
	env := &event.Envelope{SourceID: "web", ReceivedAt: t0}
	r1 := event.NewRejection(env, 3, "m3", event.Dropped, &problem.ValidationError{Code: event.CodeMissingField, Path: "event", Reason: "track needs an event name"}, []byte(`{"type":"track"}`))
	r2 := event.NewRejection(env, 0, "m4", event.Corrected, &problem.ValidationError{Code: event.CodeInvalidTimestamp, Path: "timestamp", Reason: "bad"}, []byte(`{}`))
	ok := Event("web", "m5", "u", t0)
	if err := s.Append(ctx, []*event.Event{ok}, []*event.Rejection{r1, r2}); err != nil {
		t.Fatal(err)
	}
	if ok.Seq == 0 || r1.ID == 0 || r2.ID <= r1.ID {
		t.Fatalf("ids not set: event %d, rejections %d %d", ok.Seq, r1.ID, r2.ID)
	}
	all, err := s.ListRejections(ctx, store.RejectionQuery{})
	if err != nil || len(all) != 2 {
		t.Fatalf("ListRejections = %v, %v", all, err)
	}
	got := all[1]
	if got.ID != r1.ID || got.Index != 3 || got.Code != event.CodeMissingField || got.Field != "event" ||
		got.Payload != `{"type":"track"}` || !got.ReceivedAt.Equal(t0) || got.Action != event.Dropped || got.MessageID != "m3" {
		t.Fatalf("rejection read back = %+v", got)
	}
	if only, _ := s.ListRejections(ctx, store.RejectionQuery{Code: event.CodeInvalidTimestamp}); len(only) != 1 || only[0].ID != r2.ID {
		t.Fatalf("filter by code = %v", only)
	}
	if page, _ := s.ListRejections(ctx, store.RejectionQuery{Before: r2.ID}); len(page) != 1 || page[0].ID != r1.ID {
		t.Fatalf("page before = %v", page)
	}
}

func testCheckpoints(t *testing.T, s store.Store) {
	ctx := context.Background()
	if seq, err := s.Checkpoint(ctx, "identity"); err != nil || seq != 0 {
		t.Fatalf("new checkpoint = %d, %v", seq, err)
	}
	for _, seq := range []int64{10, 42} {
		if err := s.SaveCheckpoint(ctx, "identity", seq); err != nil {
			t.Fatal(err)
		}
	}
	if seq, err := s.Checkpoint(ctx, "identity"); err != nil || seq != 42 {
		t.Fatalf("checkpoint = %d, %v; want 42", seq, err)
	}
}

func testAdminKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	if has, err := s.HasAdminKey(ctx); err != nil || has {
		t.Fatalf("HasAdminKey on empty store = %v, %v", has, err)
	}
	if err := s.AddAdminKey(ctx, "h1", t0); err != nil {
		t.Fatal(err)
	}
	if has, _ := s.HasAdminKey(ctx); !has {
		t.Fatal("HasAdminKey after add = false")
	}
	if ok, _ := s.IsAdminKey(ctx, "h1"); !ok {
		t.Fatal("IsAdminKey(h1) = false")
	}
	if ok, _ := s.IsAdminKey(ctx, "h2"); ok {
		t.Fatal("IsAdminKey(h2) = true")
	}
}
