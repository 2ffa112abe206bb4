package sqlite

import (
	"context"
	"testing"

	"github.com/parcours/parcours/internal/eventlog"
)

// A replayable write (a stage's checkpoint) commits like any other, and
// leaves the writer connection at synchronous=FULL for the appends after
// it, whether it committed or rolled back.
func TestReplayableWriteRestoresFullSync(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	level := func() int {
		t.Helper()
		var n int
		if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := level(); got != 2 {
		t.Fatalf("writer synchronous = %d before, want 2 (FULL)", got)
	}
	rctx := eventlog.Replayable(ctx)
	if err := s.SaveCheckpoint(rctx, "stage", 42); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Checkpoint(ctx, "stage"); err != nil || got != 42 {
		t.Fatalf("checkpoint = %d, %v; want 42", got, err)
	}
	if got := level(); got != 2 {
		t.Fatalf("writer synchronous = %d after a replayable commit, want 2 (FULL)", got)
	}
	tx, err := s.beginWrite(rctx)
	if err != nil {
		t.Fatal(err)
	}
	var inside int
	if err := tx.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&inside); err != nil {
		t.Fatal(err)
	}
	if inside != 1 {
		t.Fatalf("synchronous inside a replayable write = %d, want 1 (NORMAL)", inside)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback() // a second call (the usual deferred one) is harmless
	if got := level(); got != 2 {
		t.Fatalf("writer synchronous = %d after a replayable rollback, want 2 (FULL)", got)
	}
}
