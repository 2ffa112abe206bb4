package sqlite

import (
	"context"
	"testing"
	"time"
)

// A transaction on the writer's only connection can look up kept
// statements while another goroutine waits for that connection to prepare
// a new one: the cache's lock is not held across a prepare (it was, and an
// append deadlocked with a first ClaimMessages).
func TestStmtCacheNoDeadlockWithWriterTx(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const kept = "SELECT COUNT(*) FROM events"
	s.w.stmt(ctx, kept)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	prepared := make(chan struct{})
	go func() {
		defer close(prepared)
		s.w.stmt(ctx, "SELECT COUNT(*) FROM sources") // waits for the connection tx holds
	}()
	time.Sleep(50 * time.Millisecond)
	done := make(chan error, 1)
	go func() {
		st, err := s.w.txStmt(ctx, tx, kept)
		if err == nil {
			var n int
			err = st.QueryRowContext(ctx).Scan(&n)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		tx.Rollback() // unblocks both goroutines, so that the store closes
		<-prepared
		t.Fatal("txStmt blocked behind a prepare waiting for the transaction's connection")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	<-prepared
}
