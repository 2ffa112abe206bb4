package privacy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/privacy"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/unify"
)

// personEvents is how many events the benchmarked person has (issue 19:
// erasure and export of a profile with 10,000 events, each under 1 s on
// the embedded store).
const personEvents = 10_000

// seed opens a store in a new directory with one person with n events
// among another person's n/10, unified.
func seed(b *testing.B, n int) (*sqlite.Store, int64) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var batch []*event.Event
	add := func(user string, i int, typ event.Type, name string, props map[string]any) {
		p, _ := json.Marshal(props)
		e := &event.Event{MessageID: fmt.Sprintf("%s-%d", user, i), Type: typ, Event: name, UserID: user, Properties: p,
			Timestamp: at.Add(time.Duration(i) * time.Second), ReceivedAt: at, SourceID: "src_web", Channel: "web"}
		if typ == event.Identify {
			e.Traits = json.RawMessage(`{"email":"` + user + `@example.fr","phone":"+33612345678","first_name":"Ana"}`)
		}
		batch = append(batch, e)
		if len(batch) == 1000 {
			if err := st.Append(ctx, batch, nil); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
	add("ana", 0, event.Identify, "", nil)
	add("bob", 0, event.Identify, "", nil)
	for i := 1; i < n; i++ {
		add("ana", i, event.Track, "Product Viewed", map[string]any{"sku": fmt.Sprintf("SKU-%d", i%300), "price": 49.9})
		if i%10 == 0 {
			add("bob", i, event.Track, "Product Viewed", map[string]any{"sku": "SKU-1"})
		}
	}
	if len(batch) > 0 {
		if err := st.Append(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := unify.Replay(ctx, st, unify.Options{}, nil); err != nil {
		b.Fatal(err)
	}
	p, err := (&privacy.Service{Store: st}).Lookup(ctx, identityRaw("user_id", "ana"))
	if err != nil {
		b.Fatal(err)
	}
	return st, p
}

// BenchmarkErase10k erases one profile with 10,000 events on the embedded
// store (events rewritten, every table, the WAL truncated).
func BenchmarkErase10k(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		st, id := seed(b, personEvents)
		b.StartTimer()
		rec, err := (&privacy.Service{Store: st}).Erase(ctx, id, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if rec.Counts["events"] < personEvents {
			b.Fatalf("erased %d events, want %d", rec.Counts["events"], personEvents)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}

// BenchmarkExport10k writes the access request's archive of one profile
// with 10,000 events on the embedded store.
func BenchmarkExport10k(b *testing.B) {
	ctx := context.Background()
	st, id := seed(b, personEvents)
	defer st.Close()
	s := &privacy.Service{Store: st}
	for b.Loop() {
		m, err := s.Export(ctx, id, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if m.Files[0].Count == 0 {
			b.Fatal("empty archive")
		}
	}
}
