package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// BenchmarkApplyUnify measures the writes of one unify batch as the unify
// stage makes them under load: 5,000 events on 1,000 profiles, of which 20
// merge into others.
func BenchmarkApplyUnify(b *testing.B) {
	s := open(b)
	ctx := context.Background()
	const events, profiles, merged = 5000, 1000, 20
	at := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	email := json.RawMessage(`"someone@example.com"`)
	b.ResetTimer()
	for n := range b.N {
		base := int64(n) * events
		batch := &store.UnifyBatch{Consumer: "unify", Checkpoint: base + events}
		for i := range profiles {
			p := profile.New(base + int64(i) + 1)
			p.Identifiers = []identity.Identifier{
				{Kind: identity.UserID, Value: fmt.Sprint("u-", base+int64(i))},
				{Kind: identity.Email, Value: fmt.Sprint("e-", base+int64(i), "@example.com")},
			}
			p.SetTrait("email", profile.Trait{Value: email, At: at, SourceID: "web", MessageID: "m"})
			batch.Profiles = append(batch.Profiles, p)
			for _, id := range p.Identifiers {
				batch.Links = append(batch.Links, store.Link{Identifier: id, Profile: p.ID})
			}
		}
		// Profiles of the previous batch merge into this one's.
		for i := range merged {
			if n == 0 {
				break
			}
			into, from := base+int64(i)+1, base-int64(i)
			batch.Merged = append(batch.Merged, store.MergedProfile{ID: from, Into: into})
			batch.Merges = append(batch.Merges, store.MergeRecord{At: at, EventSeq: base + 1, Profile: into, Merged: from,
				Identifiers: batch.Profiles[i].Identifiers})
		}
		for i := range events {
			batch.Timeline = append(batch.Timeline, store.TimelineEntry{Profile: base + int64(i%profiles) + 1,
				Seq: base + int64(i) + 1, At: at.Add(time.Duration(i) * time.Second)})
		}
		if err := s.ApplyUnify(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*events)/b.Elapsed().Seconds(), "events/s")
}
