package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// TestApplyUnifyDetails checks what the conformance suite leaves out: the
// checkpoint never goes back, merge chains are followed, times come back
// in UTC and forgetting a profile marks its merges undone.
func TestApplyUnifyDetails(t *testing.T) {
	s := open(t)
	ctx := context.Background()
	paris := time.FixedZone("CET", 3600)
	at := time.Date(2026, 3, 14, 10, 26, 53, 589793000, paris)
	u := identity.Identifier{Kind: identity.UserID, Value: "u"}
	apply := func(b *store.UnifyBatch) {
		t.Helper()
		b.Consumer = "unify"
		if err := s.ApplyUnify(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	apply(&store.UnifyBatch{Checkpoint: 10, Profiles: []*profile.Profile{profile.New(1), profile.New(2), profile.New(3)},
		Links: []store.Link{{Identifier: u, Profile: 1}, {Identifier: u, Profile: 3}}})
	if h, _ := s.Holders(ctx, []identity.Identifier{u}); h[u] != 3 {
		t.Fatalf("the last link of a batch must win: held by %d", h[u])
	}
	// 1 into 2, then 2 into 3, in one batch; the checkpoint is behind.
	apply(&store.UnifyBatch{Checkpoint: 5,
		Merged: []store.MergedProfile{{ID: 1, Into: 2}, {ID: 2, Into: 3}},
		Merges: []store.MergeRecord{{At: at, EventSeq: 4, Profile: 3, Merged: 2, Identifiers: []identity.Identifier{u}}},
	})
	if cp, _ := s.Checkpoint(ctx, "unify"); cp != 10 {
		t.Fatalf("checkpoint went back to %d", cp)
	}
	if p, err := s.Profile(ctx, 1); err != nil || p.ID != 3 {
		t.Fatalf("Profile(1) = %v, %v; want profile 3", p, err)
	}
	if n, _ := s.ProfileCount(ctx); n != 1 {
		t.Fatalf("%d live profiles, want 1", n)
	}
	log, err := s.MergeLog(ctx, 3)
	if err != nil || len(log) != 1 || log[0].At.Location() != time.UTC || !log[0].At.Equal(at) || !log[0].UndoneAt.IsZero() {
		t.Fatalf("MergeLog = %+v, %v", log, err)
	}
	if err := s.ForgetProfile(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if log, _ := s.MergeLog(ctx, 3); len(log) != 1 || log[0].UndoneAt.IsZero() || log[0].UndoneAt.Location() != time.UTC {
		t.Fatalf("MergeLog after ForgetProfile = %+v", log)
	}
}
