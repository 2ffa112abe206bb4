package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// testNodeLeases: a claim records its node; the "about to call" mark is
// kept on the row without changing its state; LeasedBy returns a node's
// Sending messages (expired leases too) and never another node's; a
// finish clears the node and the mark.
func testNodeLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := t0.Add(time.Hour)
	var ms []*store.OutboxMessage
	for _, k := range []string{"a1", "a2", "a3", "b1"} {
		ms = append(ms, outboxMessage("lease-"+k, 1, now))
	}
	enqueue(t, s, ms...)
	a, err := s.ClaimMessages(ctx, "node-a", "ta", now, time.Minute, 3)
	if err != nil || len(a) != 3 {
		t.Fatalf("claim by node-a: %d, %v", len(a), err)
	}
	for _, m := range a {
		if m.LeaseNode != "node-a" || !m.CalledAt.IsZero() {
			t.Fatalf("claimed: node %q, called at %v; want node-a, not called", m.LeaseNode, m.CalledAt)
		}
	}
	b, err := s.ClaimMessages(ctx, "node-b", "tb", now, time.Minute, 10)
	if err != nil || len(b) != 1 || b[0].ID != ms[3].ID {
		t.Fatalf("claim by node-b: %+v, %v", b, err)
	}
	called := now.Add(time.Second)
	n, err := s.FinishMessages(ctx, []store.MessageUpdate{
		{ID: a[0].ID, LeaseToken: "ta", Calling: true, At: called},
		{ID: a[1].ID, LeaseToken: "wrong", Calling: true, At: called}, // not this lease: ignored
	})
	if err != nil || n != 1 {
		t.Fatalf("mark calling applied %d, %v; want 1", n, err)
	}
	got, err := s.OutboxMessage(ctx, a[0].ID)
	if err != nil || got.Status != store.MessageSending || !got.CalledAt.Equal(called) || got.Attempts != 1 || got.LeaseToken != "ta" {
		t.Fatalf("after the mark: %+v, %v; want still sending under ta, attempt 1, called at %v", got, err, called)
	}
	// Long after the leases expired, each node finds its own and only
	// its own.
	mine, err := s.LeasedBy(ctx, "node-a")
	if err != nil || len(mine) != 3 {
		t.Fatalf("LeasedBy(node-a): %d, %v; want 3", len(mine), err)
	}
	for i, m := range mine {
		if m.ID != a[i].ID || m.LeaseToken != "ta" || m.LeaseNode != "node-a" {
			t.Fatalf("LeasedBy(node-a)[%d]: %+v, want message %d under ta", i, m, a[i].ID)
		}
	}
	if !mine[0].CalledAt.Equal(called) || !mine[1].CalledAt.IsZero() {
		t.Fatalf("called at: %v, %v; want %v and zero", mine[0].CalledAt, mine[1].CalledAt, called)
	}
	if other, err := s.LeasedBy(ctx, "node-b"); err != nil || len(other) != 1 || other[0].ID != ms[3].ID {
		t.Fatalf("LeasedBy(node-b): %+v, %v", other, err)
	}
	if none, err := s.LeasedBy(ctx, "node-c"); err != nil || len(none) != 0 {
		t.Fatalf("LeasedBy(node-c): %+v, %v", none, err)
	}
	if _, err := s.LeasedBy(ctx, ""); err == nil {
		t.Fatal(`LeasedBy(""): no error`)
	}
	// Finished (sent, handed back): no longer the node's, mark cleared.
	n, err = s.FinishMessages(ctx, []store.MessageUpdate{
		{ID: a[0].ID, LeaseToken: "ta", Status: store.MessageSent, At: called, SentAt: called},
		{ID: a[1].ID, LeaseToken: "ta", Status: store.MessageQueued, DueAt: now, At: now, Unclaim: true},
	})
	if err != nil || n != 2 {
		t.Fatalf("finish applied %d, %v", n, err)
	}
	if mine, _ := s.LeasedBy(ctx, "node-a"); len(mine) != 1 || mine[0].ID != a[2].ID {
		t.Fatalf("LeasedBy(node-a) after finishing two: %+v", mine)
	}
	if got, _ := s.OutboxMessage(ctx, a[0].ID); !got.CalledAt.IsZero() || got.LeaseNode != "" {
		t.Fatalf("sent message keeps node %q, called at %v", got.LeaseNode, got.CalledAt)
	}
	// Claimed again (by another node, after expiry): the old mark is gone.
	if _, err := s.FinishMessages(ctx, []store.MessageUpdate{{ID: a[2].ID, LeaseToken: "ta", Calling: true, At: called}}); err != nil {
		t.Fatal(err)
	}
	re, err := s.ClaimMessages(ctx, "node-b", "tb2", now.Add(2*time.Minute), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range re {
		if m.ID == a[2].ID && (m.LeaseNode != "node-b" || !m.CalledAt.IsZero()) {
			t.Fatalf("re-claimed: node %q, called at %v; want node-b, not called", m.LeaseNode, m.CalledAt)
		}
	}
	if mine, _ := s.LeasedBy(ctx, "node-a"); len(mine) != 0 {
		t.Fatalf("node-a still holds %d after node-b took its expired lease", len(mine))
	}
}
