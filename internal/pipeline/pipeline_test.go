package pipeline_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/pipeline"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store/sqlite"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// world is a store and its pipeline, driven batch by batch.
type world struct {
	t  *testing.T
	st *sqlite.Store
	p  *pipeline.Pipeline
	n  int
}

func newWorld(t *testing.T, cfg pipeline.Config) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg.Messages.Secret = []byte("test")
	p := pipeline.New(st, cfg, pipeline.Runtime{Clock: clock.NewFake(t0.Add(24 * time.Hour)), Emit: collect.Direct{Appender: st},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { p.Close() })
	if err := p.Segments.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return &world{t: t, st: st, p: p}
}

// append logs events and runs unify then segments until both have read
// the whole log.
func (w *world) append(events ...*event.Event) {
	w.t.Helper()
	ctx := context.Background()
	for _, e := range events {
		w.n++
		e.MessageID, e.SourceID, e.Channel = "m"+string(rune('a'+w.n)), "src_web", "web"
		e.Timestamp, e.ReceivedAt = t0.Add(time.Duration(w.n)*time.Minute), t0
	}
	if err := w.st.Append(ctx, events, nil); err != nil {
		w.t.Fatal(err)
	}
	w.settle()
}

func (w *world) settle() {
	w.t.Helper()
	ctx := context.Background()
	for range 10 {
		busy := false
		for _, s := range []struct {
			name string
			fn   func(context.Context, []*event.Event) error
		}{{"unify", w.p.Unify.Process}, {segment.Consumer, w.p.Segments.Process}} {
			after, err := w.st.Checkpoint(ctx, s.name)
			if err != nil {
				w.t.Fatal(err)
			}
			batch, err := w.st.ReadAfter(ctx, after, 1000)
			if err != nil {
				w.t.Fatal(err)
			}
			if len(batch) > 0 {
				busy = true
				if err := s.fn(ctx, batch); err != nil {
					w.t.Fatal(err)
				}
			}
		}
		if !busy {
			return
		}
	}
	w.t.Fatal("the stages did not settle")
}

func (w *world) holder(kind identity.Kind, value string) int64 {
	w.t.Helper()
	id := identity.Identifier{Kind: kind, Value: value}
	h, err := w.st.Holders(context.Background(), []identity.Identifier{id})
	if err != nil {
		w.t.Fatal(err)
	}
	return h[id]
}

func (w *world) members(seg string) []int64 {
	w.t.Helper()
	ms, err := w.st.SegmentMembers(context.Background(), seg, 0, 100)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []int64
	for _, m := range ms {
		out = append(out, m.Profile)
	}
	return out
}

const browsedAndBought = `
kind: segment
id: browsed-and-bought
name: Viewed a product and ordered
where:
  all:
    - performed: {event: Order Completed}
    - performed: {event: Product Viewed}
`

// TestUnmergeRebuildsWhatDerivesFromProfiles: undoing a merge is one
// operation, which the API and the CLI both call: the profiles are split,
// and the segment memberships and behaviour index rows of the events that
// moved are rebuilt with them.
func TestUnmergeRebuildsWhatDerivesFromProfiles(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, pipeline.Config{})
	defs, err := segment.ParseYAML("s.yaml", strings.NewReader(browsedAndBought))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.p.Segments.Save(ctx, defs, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.p.Segments.CatchUpIndex(ctx); err != nil {
		t.Fatal(err)
	}
	w.append(
		&event.Event{Type: event.Track, AnonymousID: "a1", Event: "Order Completed"},
		&event.Event{Type: event.Identify, UserID: "bob"},
	)
	// The shared laptop: bob's view on a1's device merges the two.
	w.append(&event.Event{Type: event.Track, UserID: "bob", AnonymousID: "a1", Event: "Product Viewed"})
	a1 := w.holder(identity.AnonymousID, "a1")
	if bob := w.holder(identity.UserID, "bob"); bob != a1 {
		t.Fatalf("bob is on profile %d and a1 on %d: not merged", bob, a1)
	}
	if got := w.members("browsed-and-bought"); len(got) != 1 || got[0] != a1 {
		t.Fatalf("members before the unmerge: %v, want [%d]", got, a1)
	}
	merges, err := w.st.MergeLog(ctx, a1)
	if err != nil || len(merges) != 1 {
		t.Fatalf("merge log of %d: %v, %v", a1, merges, err)
	}

	owners, err := w.p.Unmerge(ctx, a1, merges[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	w.settle()
	bob := w.holder(identity.UserID, "bob")
	if bob == a1 || len(owners) == 0 {
		t.Fatalf("after the unmerge bob is on %d, a1 on %d (owners %v): not split", bob, a1, owners)
	}
	if got := w.members("browsed-and-bought"); len(got) != 0 {
		t.Fatalf("members after the unmerge: %v, want none (the order is a1's, the view bob's)", got)
	}
	pv, err := w.p.Segments.Preview(ctx, defs[0], 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Via != "index" || pv.Size != 0 {
		t.Fatalf("preview after the unmerge: %d via %s, want 0 via the index (its rows moved with the events)", pv.Size, pv.Via)
	}
}
