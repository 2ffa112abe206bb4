package sqlite

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store/storetest"
)

func openAt(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func appendIDs(t *testing.T, s *Store, ids ...string) []int64 {
	t.Helper()
	var batch []*event.Event
	for _, id := range ids {
		batch = append(batch, storetest.Event("src", id, "u", time.Now()))
	}
	if err := s.Append(context.Background(), batch, nil); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, e := range batch {
		seqs = append(seqs, e.Seq)
	}
	return seqs
}

// TestDedupAcrossProcesses: a server and an import append to the same file;
// keys one of them holds only in memory must still stop the other's
// duplicates.
func TestDedupAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	a, b := openAt(t, dir), openAt(t, dir)
	appendIDs(t, a, "x", "y")
	if seqs := appendIDs(t, b, "y", "z"); seqs[0] != 0 || seqs[1] != 3 {
		t.Fatalf("b stored %v; want y a duplicate and z as seq 3", seqs)
	}
	if seqs := appendIDs(t, a, "z", "w"); seqs[0] != 0 || seqs[1] != 4 {
		t.Fatalf("a stored %v; want z a duplicate and w as seq 4", seqs)
	}
	// After a restart the keys not yet indexed are read back from the log.
	c := openAt(t, dir)
	if seqs := appendIDs(t, c, "x", "w", "v"); seqs[0] != 0 || seqs[1] != 0 || seqs[2] != 5 {
		t.Fatalf("after restart: %v", seqs)
	}
}

// TestDedupHashCollisions forces every key onto one hash: distinct keys
// must all be stored, and duplicates still recognised, in memory and in the
// table.
func TestDedupHashCollisions(t *testing.T) {
	defer func(h func(string, string) int64) { dedupHash = h }(dedupHash)
	dedupHash = func(string, string) int64 { return 42 }
	s := openAt(t, t.TempDir())
	var ids []string
	for i := range 5 {
		ids = append(ids, fmt.Sprint("k", i))
	}
	for _, seq := range appendIDs(t, s, ids...) {
		if seq == 0 {
			t.Fatalf("a distinct key was taken for a duplicate: %v", ids)
		}
	}
	for round := range 2 {
		for _, seq := range appendIDs(t, s, ids...) {
			if seq != 0 {
				t.Fatalf("round %d: a duplicate was stored as %d", round, seq)
			}
		}
		if err := s.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.LastSeq(context.Background()); n != 5 {
		t.Fatalf("log holds %d events, want 5", n)
	}
}
