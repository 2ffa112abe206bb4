package eventlog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/store/storetest"
)

func openStore(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func appendN(t *testing.T, s store.Store, n *eventlog.Notifier, from, count int) {
	var batch []*event.Event
	for i := from; i < from+count; i++ {
		batch = append(batch, storetest.Event("src", fmt.Sprint("m", i), "u", time.Now()))
	}
	if err := s.Append(context.Background(), batch, nil); err != nil {
		t.Fatal(err)
	}
	n.Publish(batch[len(batch)-1].Seq)
}

// TestConsumerFollowsAndResumes reads the log as it grows, stops, and
// resumes from its checkpoint without missing or repeating an event.
func TestConsumerFollowsAndResumes(t *testing.T) {
	s := openStore(t)
	n := eventlog.NewNotifier()
	appendN(t, s, n, 0, 5)

	seen := make(chan string, 100)
	run := func(ctx context.Context) error {
		c := &eventlog.Consumer{Name: "test", Log: s, Checkpoints: s, Notifier: n, BatchSize: 2, Poll: time.Hour}
		return c.Run(ctx, func(_ context.Context, batch []*event.Event) error {
			for _, e := range batch {
				seen <- e.MessageID
			}
			return nil
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- run(ctx) }()
	want := func(ids ...string) {
		t.Helper()
		for _, id := range ids {
			select {
			case got := <-seen:
				if got != id {
					t.Fatalf("got %s, want %s", got, id)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("timed out waiting for %s", id)
			}
		}
	}
	want("m0", "m1", "m2", "m3", "m4")
	// The notifier wakes the consumer at once (the poll is an hour).
	appendN(t, s, n, 5, 3)
	want("m5", "m6", "m7")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if seq, _ := s.Checkpoint(context.Background(), "test"); seq != 8 {
		t.Fatalf("checkpoint = %d, want 8", seq)
	}
	appendN(t, s, n, 8, 2)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- run(ctx) }()
	want("m8", "m9")
	select {
	case extra := <-seen:
		t.Fatalf("event %s handed over twice", extra)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestConsumerStopsOnHandlerError(t *testing.T) {
	s := openStore(t)
	n := eventlog.NewNotifier()
	appendN(t, s, n, 0, 3)
	boom := errors.New("boom")
	c := &eventlog.Consumer{Name: "failing", Log: s, Checkpoints: s, Notifier: n}
	err := c.Run(context.Background(), func(context.Context, []*event.Event) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the handler's error", err)
	}
	if seq, _ := s.Checkpoint(context.Background(), "failing"); seq != 0 {
		t.Fatalf("a failed batch was checkpointed at %d", seq)
	}
}

// failingLog fails every read once failing is set: the database went away.
type failingLog struct {
	store.Store
	failing atomic.Bool
}

var errGone = errors.New("connection refused")

func (f *failingLog) ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error) {
	if f.failing.Load() {
		return nil, errGone
	}
	return f.Store.ReadAfter(ctx, after, limit)
}

// TestConsumerReportsAFailedRead: a read that fails (PostgreSQL
// restarting) ends Run with that error, so that the stage's loop restarts
// it; returning nil would tell the loop that the stage was stopped, and it
// would stay stopped for good (the cluster test that restarts PostgreSQL
// found unify silently stopped this way).
func TestConsumerReportsAFailedRead(t *testing.T) {
	s := openStore(t)
	n := eventlog.NewNotifier()
	appendN(t, s, n, 0, 3)
	log := &failingLog{Store: s}
	c := &eventlog.Consumer{Name: "reader", Log: log, Checkpoints: s, Notifier: n, Poll: 10 * time.Millisecond}
	handled := make(chan struct{}, 10)
	done := make(chan error, 1)
	go func() {
		done <- c.Run(context.Background(), func(context.Context, []*event.Event) error {
			handled <- struct{}{}
			return nil
		})
	}()
	<-handled
	log.failing.Store(true)
	select {
	case err := <-done:
		if !errors.Is(err, errGone) {
			t.Fatalf("Run = %v after a failed read; want the read's error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run still runs 5s after its reads started failing")
	}
}

// TestConsumerYieldIsBounded: a consumer told to yield waits while told
// so, but never more than MaxYield per batch, so it always makes progress.
func TestConsumerYieldIsBounded(t *testing.T) {
	s := openStore(t)
	n := eventlog.NewNotifier()
	appendN(t, s, n, 0, 4)
	var asked int
	c := &eventlog.Consumer{
		Name: "yielding", Log: s, Checkpoints: s, Notifier: n, BatchSize: 2, Until: 4,
		Yield: func() bool { asked++; return true }, MaxYield: 30 * time.Millisecond,
	}
	var handled int
	err := c.Run(context.Background(), func(_ context.Context, batch []*event.Event) error {
		handled += len(batch)
		return nil
	})
	if err != nil || handled != 4 {
		t.Fatalf("handled %d events (err %v), want 4", handled, err)
	}
	if asked < 2 {
		t.Fatalf("Yield asked %d times, want at least once per batch", asked)
	}
}

// TestBehindReadsOnlyWhatEveryFollowedConsumerHandled: a reader behind two
// consumers sees the events up to the lower of their checkpoints.
func TestBehindReadsOnlyWhatEveryFollowedConsumerHandled(t *testing.T) {
	s := openStore(t)
	n := eventlog.NewNotifier()
	appendN(t, s, n, 0, 10)
	ctx := context.Background()
	b := eventlog.Behind{Log: s, Behind: []string{"a", "b"}}
	if got, err := b.ReadAfter(ctx, 0, 100); err != nil || len(got) != 0 {
		t.Fatalf("nothing handled yet: %d events, %v", len(got), err)
	}
	s.SaveCheckpoint(ctx, "a", 5)
	s.SaveCheckpoint(ctx, "b", 3)
	got, err := b.ReadAfter(ctx, 1, 100)
	if err != nil || len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 3 {
		t.Fatalf("behind a=5, b=3 after 1: %d events, %v", len(got), err)
	}
}

// countingLog counts the checkpoint reads a Behind reader makes.
type countingLog struct {
	store.Store
	reads atomic.Int64
}

func (c *countingLog) Checkpoint(ctx context.Context, name string) (int64, error) {
	c.reads.Add(1)
	return c.Store.Checkpoint(ctx, name)
}

// TestBehindDoesNotSpin: a followed consumer that announces a position
// before its checkpoint is readable does not make the reader spin on
// queries meanwhile; once the checkpoint is saved (Done is told only
// then), the reader gets the events.
func TestBehindDoesNotSpin(t *testing.T) {
	s := openStore(t)
	log := eventlog.NewNotifier()
	appendN(t, s, log, 0, 3)
	ahead := eventlog.NewNotifier()
	ahead.Publish(3) // announced, not checkpointed
	cl := &countingLog{Store: s}
	got := make(chan int64, 10)
	ctx, cancel := context.WithCancel(context.Background())
	// Both consumers stop before the test returns: a callback running
	// after it would report on a finished test.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	c := &eventlog.Consumer{Name: "reader", Log: eventlog.Behind{Log: cl, Behind: []string{"first"}}, Checkpoints: s,
		Notifier: ahead, Poll: time.Hour}
	wg.Go(func() {
		c.Run(ctx, func(_ context.Context, batch []*event.Event) error {
			got <- batch[len(batch)-1].Seq
			return nil
		})
	})
	time.Sleep(100 * time.Millisecond)
	if n := cl.reads.Load(); n > 100 {
		t.Fatalf("%d checkpoint reads in 100 ms while waiting for a checkpoint: spinning", n)
	}
	// The followed consumer saves its checkpoint, then says so.
	first := &eventlog.Consumer{Name: "first", Log: s, Checkpoints: s, Notifier: log, Poll: time.Hour,
		Done: func(seq int64) {
			// Not ctx: Done may run while the test cancels it, and a
			// failed read must not pass for an unsaved checkpoint.
			cp, err := s.Checkpoint(context.Background(), "first")
			if err != nil {
				t.Errorf("read the checkpoint after Done(%d): %v", seq, err)
			} else if cp != seq {
				t.Errorf("Done(%d) told before the checkpoint (%d) was saved", seq, cp)
			}
		}}
	wg.Go(func() { first.Run(ctx, func(context.Context, []*event.Event) error { return nil }) })
	select {
	case seq := <-got:
		if seq != 3 {
			t.Fatalf("read up to %d, want 3", seq)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the reader never got the events")
	}
}

// TestCheckpointEvery: a consumer that saves its checkpoint at most every
// interval still saves it once idle, and when it stops.
func TestCheckpointEvery(t *testing.T) {
	s := openStore(t)
	n := eventlog.NewNotifier()
	appendN(t, s, n, 0, 10)
	handled := make(chan int64, 100)
	run := func(ctx context.Context, every time.Duration) error {
		c := &eventlog.Consumer{Name: "lazy", Log: s, Checkpoints: s, Notifier: n, BatchSize: 3, Poll: time.Hour, CheckpointEvery: every}
		return c.Run(ctx, func(_ context.Context, b []*event.Event) error {
			handled <- b[len(b)-1].Seq
			return nil
		})
	}
	waitSeq := func(want int64) {
		t.Helper()
		for {
			select {
			case seq := <-handled:
				if seq == want {
					return
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("never handled %d", want)
			}
		}
	}
	// Idle: saved within the interval after the last batch.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- run(ctx, 50*time.Millisecond) }()
	waitSeq(10)
	deadline := time.Now().Add(5 * time.Second)
	for cp, _ := s.Checkpoint(ctx, "lazy"); cp != 10; cp, _ = s.Checkpoint(ctx, "lazy") {
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint %d once idle, want 10", cp)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	// Stopping: saved on the way out, though the interval has not passed.
	appendN(t, s, n, 10, 5)
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- run(ctx, time.Hour) }()
	waitSeq(15)
	if cp, _ := s.Checkpoint(context.Background(), "lazy"); cp != 10 {
		t.Fatalf("checkpoint %d before the interval, want 10", cp)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cp, _ := s.Checkpoint(context.Background(), "lazy"); cp != 15 {
		t.Fatalf("checkpoint %d after stopping, want 15", cp)
	}
}

// TestBehindPassedSkipsTheCheckpointQuery: with Passed ahead of the
// reader, Behind reads up to it without asking the store for the followed
// checkpoints, and never past it; caught up with a Passed that moved
// recently, it waits for Passed without asking the store either; once
// Passed has not moved for PassedFresh it reads the checkpoints again (a
// followed consumer in another process, or a checkpoint moved by
// something else, is seen without this process's notifier).
func TestBehindPassedSkipsTheCheckpointQuery(t *testing.T) {
	s := openStore(t)
	n := eventlog.NewNotifier()
	appendN(t, s, n, 0, 10)
	ctx := context.Background()
	cl := &countingLog{Store: s}
	passed := eventlog.NewNotifier()
	b := eventlog.Behind{Log: cl, Behind: []string{"a"}, Passed: passed}
	// Nothing published yet: the store says.
	if got, err := b.ReadAfter(ctx, 0, 100); err != nil || len(got) != 0 || cl.reads.Load() != 1 {
		t.Fatalf("nothing passed nor saved: %d events, %v, %d checkpoint reads (want 1)", len(got), err, cl.reads.Load())
	}
	s.SaveCheckpoint(ctx, "a", 4)
	passed.Publish(4)
	got, err := b.ReadAfter(ctx, 0, 100)
	if err != nil || len(got) != 4 || got[3].Seq != 4 {
		t.Fatalf("passed 4: %d events, %v", len(got), err)
	}
	// Checkpoint 7 saved elsewhere, Passed still at 4 and fresh: nothing
	// read, no query.
	s.SaveCheckpoint(ctx, "a", 7)
	if got, err := b.ReadAfter(ctx, 4, 100); err != nil || len(got) != 0 {
		t.Fatalf("passed 4 just now, after 4: %d events, %v", len(got), err)
	}
	if r := cl.reads.Load(); r != 1 {
		t.Fatalf("%d checkpoint reads with Passed fresh, want 1 (the first)", r)
	}
	// Passed stale: the store says 7.
	time.Sleep(eventlog.PassedFresh + 50*time.Millisecond)
	got, err = b.ReadAfter(ctx, 4, 100)
	if err != nil || len(got) != 3 || got[0].Seq != 5 || got[2].Seq != 7 {
		t.Fatalf("checkpoint 7, passed 4 a while ago, after 4: %d events, %v", len(got), err)
	}
	if r := cl.reads.Load(); r != 2 {
		t.Fatalf("%d checkpoint reads once Passed is stale, want 2", r)
	}
	// The limit still holds.
	passed.Publish(10)
	got, err = b.ReadAfter(ctx, 7, 2)
	if err != nil || len(got) != 2 || got[1].Seq != 9 {
		t.Fatalf("passed 10, limit 2, after 7: %d events, %v", len(got), err)
	}
}
