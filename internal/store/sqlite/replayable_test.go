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

// A stage's write transaction keeps the named statements it runs: the
// first batch prepares them for itself and keeps them once it has given
// the connection back; the next batches find them kept, replayable or
// not, and still commit what they wrote.
func TestWriteTxKeepsItsStatements(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	q := queries.Get("save-checkpoint")
	isKept := func() bool {
		s.w.mu.RLock()
		defer s.w.mu.RUnlock()
		_, ok := s.w.stmts[q]
		return ok
	}
	if isKept() {
		t.Fatal("save-checkpoint kept before any write")
	}
	for i, c := range []context.Context{eventlog.Replayable(ctx), eventlog.Replayable(ctx), ctx} {
		seq := int64(10 * (i + 1))
		if err := s.SaveCheckpoint(c, "stage", seq); err != nil {
			t.Fatal(err)
		}
		if !isKept() {
			t.Fatalf("write %d: save-checkpoint not kept after it", i+1)
		}
		if got, err := s.Checkpoint(ctx, "stage"); err != nil || got != seq {
			t.Fatalf("write %d: checkpoint %d, %v; want %d", i+1, got, err, seq)
		}
	}
	// SQL that is not a named query is not kept.
	tx, err := s.beginWrite(eventlog.Replayable(ctx))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM checkpoints WHERE consumer IN (?, ?)", "x", "y"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	s.w.mu.RLock()
	_, ok := s.w.stmts["DELETE FROM checkpoints WHERE consumer IN (?, ?)"]
	s.w.mu.RUnlock()
	if ok {
		t.Fatal("unnamed SQL kept")
	}
}
