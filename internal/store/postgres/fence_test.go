package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/store/postgres"
)

// TestFenceRefusesTheOldOwner plays the pipeline lease changing hands while
// the old owner is paused inside a transaction: the new owner's Fence waits
// until that transaction is gone (the server ends it after the idle
// timeout), and from then on every write of the old owner is refused,
// while the new owner's and those of sessions that declare no token go
// through. An older token cannot take the fence back; a newer epoch (the
// lease bucket recreated) can.
func TestFenceRefusesTheOldOwner(t *testing.T) {
	defer postgres.SetFenceIdleTimeout(postgres.SetFenceIdleTimeout(time.Second))
	ctx := context.Background()
	dsn, _ := freshSchema(t)
	a := connect(t, dsn)
	if err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b, plain := connect(t, dsn), connect(t, dsn)

	if prev, err := a.Fence(ctx, 1, 5, "a"); err != nil || prev != "" {
		t.Fatalf("a takes the fence: %q %v; want no previous holder", prev, err)
	}
	if err := a.SaveCheckpoint(ctx, "unify", 10); err != nil {
		t.Fatalf("the owner's write: %v", err)
	}
	// a pauses in the middle of a stage's transaction.
	tx, err := a.BeginForTest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "UPDATE checkpoints SET seq = 11 WHERE consumer = 'unify'"); err != nil {
		t.Fatalf("a's write inside its transaction, before b took over: %v", err)
	}
	moved := make(chan error, 1)
	start := time.Now()
	go func() {
		prev, err := b.Fence(ctx, 1, 9, "b")
		if err == nil && prev != "a" {
			err = errors.New("previous holder " + prev + ", want a")
		}
		moved <- err
	}()
	select {
	case err := <-moved:
		t.Fatalf("b moved the fence (%v) while a's transaction, past the check, was open", err)
	case <-time.After(300 * time.Millisecond):
	}
	select {
	case err := <-moved:
		if err != nil {
			t.Fatalf("b's Fence: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b's Fence still waits 10s after a paused in its transaction; the idle timeout should have ended it")
	}
	took := time.Since(start)
	if err := tx.Commit(ctx); err == nil {
		t.Fatal("a's transaction, idle past the timeout while b took over, committed")
	}
	if seq, _ := b.Checkpoint(ctx, "unify"); seq != 10 {
		t.Fatalf("checkpoint unify = %d after a's abandoned transaction; want 10", seq)
	}

	// a resumes and writes: refused, whatever it does next.
	err = a.SaveCheckpoint(ctx, "unify", 12)
	if !postgres.IsFenced(err) {
		t.Fatalf("a's write after b took over: %v; want fenced", err)
	}
	t.Logf("a's write after b took over: %v", err)
	if _, err := a.Checkpoint(ctx, "unify"); err != nil {
		t.Fatalf("a's reads go on: %v", err)
	}
	if err := b.SaveCheckpoint(ctx, "unify", 13); err != nil {
		t.Fatalf("b's write: %v", err)
	}
	if err := plain.SaveCheckpoint(ctx, "other", 1); err != nil {
		t.Fatalf("a session that declares no token: %v", err)
	}
	if _, err := a.Fence(ctx, 1, 7, "a"); !errors.Is(err, postgres.ErrFenced) {
		t.Fatalf("a takes the fence back with an older token: %v; want ErrFenced", err)
	}
	if node, tok, err := b.FenceHolder(ctx); err != nil || node != "b" || tok != "1:9" {
		t.Fatalf("FenceHolder = %q %q %v; want b 1:9", node, tok, err)
	}
	// The lease bucket recreated: its revisions start again, in a new epoch.
	if _, err := a.Fence(ctx, 2, 1, "a"); err != nil {
		t.Fatalf("a fences in a newer epoch: %v", err)
	}
	if err := b.SaveCheckpoint(ctx, "unify", 14); !postgres.IsFenced(err) {
		t.Fatalf("b's write after a fenced in a newer epoch: %v; want fenced", err)
	}
	if err := a.SaveCheckpoint(ctx, "unify", 14); err != nil {
		t.Fatalf("a's write under the newer epoch: %v", err)
	}
	t.Logf("the new owner moved the fence %s after the old one paused in a transaction", took.Round(time.Millisecond))
}

// BenchmarkCheckpointFence measures a checkpoint write (one statement, one
// transaction) by a session that declares no token and by the fenced
// pipeline owner: the cost of the fence check.
func BenchmarkCheckpointFence(b *testing.B) {
	ctx := context.Background()
	for _, fenced := range []bool{false, true} {
		name := "unfenced"
		if fenced {
			name = "fenced"
		}
		b.Run(name, func(b *testing.B) {
			s := open(b)
			if fenced {
				if _, err := s.Fence(ctx, 1, 1, "bench"); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				if err := s.SaveCheckpoint(ctx, "bench", int64(i)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
