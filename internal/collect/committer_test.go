package collect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// fakeLog is an Appender that numbers events, can be made to block, and
// fails any group that holds an event named "poison".
type fakeLog struct {
	mu      sync.Mutex
	seq     int64
	commits [][]string
	gate    chan struct{} // when set, Append waits for it
	entered chan struct{} // when set, Append tells it before the gate
}

func (f *fakeLog) Append(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.gate != nil {
		<-f.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, e := range events {
		if e.Event == "poison" {
			return errors.New("poisoned")
		}
		ids = append(ids, e.MessageID)
	}
	for _, e := range events {
		f.seq++
		e.Seq = f.seq
	}
	f.commits = append(f.commits, ids)
	return nil
}

func ev(id, name string) *event.Event { return &event.Event{MessageID: id, Event: name} }

func TestCommitterGroupsConcurrentSubmissions(t *testing.T) {
	log := &fakeLog{gate: make(chan struct{}), entered: make(chan struct{}, 16)}
	var published []int64
	var pmu sync.Mutex
	c := NewCommitter(log, CommitterOptions{OnCommit: func(s int64) { pmu.Lock(); published = append(published, s); pmu.Unlock() }})
	go c.Run()
	defer c.Close()

	// The first submission holds the writer; the next ten queue up behind it
	// and must be written together by the second commit.
	var wg sync.WaitGroup
	submit := func(id string) {
		defer wg.Done()
		e := ev(id, "X")
		if err := c.Submit(context.Background(), []*event.Event{e}, nil); err != nil || e.Seq == 0 {
			t.Errorf("Submit(%s) = %v, seq %d", id, err, e.Seq)
		}
	}
	wg.Add(1)
	go submit("first")
	<-log.entered // the first commit is writing
	for i := range 10 {
		wg.Add(1)
		go submit(fmt.Sprint(i))
	}
	// Queued counts a submission before it is in the queue: wait for the
	// queue itself to hold the ten.
	for len(c.queue) < 10 {
		time.Sleep(time.Millisecond)
	}
	close(log.gate)
	wg.Wait()
	if len(log.commits) != 2 || len(log.commits[1]) != 10 {
		t.Fatalf("commits = %v; want the ten queued submissions in one commit", log.commits)
	}
	if len(published) != 2 || published[1] != 11 {
		t.Fatalf("published = %v", published)
	}
}

func TestCommitterIsolatesAFailingSubmission(t *testing.T) {
	log := &fakeLog{gate: make(chan struct{})}
	c := NewCommitter(log, CommitterOptions{})
	go c.Run()
	defer c.Close()
	errs := make(chan error, 3)
	for _, name := range []string{"hold", "good", "poison"} {
		go func() { errs <- c.Submit(context.Background(), []*event.Event{ev(name, name)}, nil) }()
		time.Sleep(10 * time.Millisecond)
	}
	close(log.gate)
	failed := 0
	for range 3 {
		if err := <-errs; err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d submissions failed; want only the poisoned one", failed)
	}
}

func TestCommitterRefusesWhenFull(t *testing.T) {
	log := &fakeLog{gate: make(chan struct{})}
	c := NewCommitter(log, CommitterOptions{MaxQueuedEvents: 5, QueueWait: time.Millisecond})
	go c.Run()
	defer func() { close(log.gate); c.Close() }()
	go c.Submit(context.Background(), []*event.Event{ev("a", "X"), ev("b", "X"), ev("c", "X"), ev("d", "X")}, nil)
	for c.Queued() < 4 {
		time.Sleep(time.Millisecond)
	}
	err := c.Submit(context.Background(), []*event.Event{ev("e", "X"), ev("f", "X")}, nil)
	if !errors.Is(err, ErrOverloaded) {
		t.Fatalf("Submit past the limit = %v, want ErrOverloaded", err)
	}
}

func TestCommitterCloseCommitsQueued(t *testing.T) {
	log := &fakeLog{}
	c := NewCommitter(log, CommitterOptions{})
	go c.Run()
	e := ev("a", "X")
	if err := c.Submit(context.Background(), []*event.Event{e}, nil); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := c.Submit(context.Background(), []*event.Event{ev("b", "X")}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit after Close = %v, want ErrClosed", err)
	}
}

func TestBasicWriteKey(t *testing.T) {
	cases := map[string]string{
		"Basic d2tfa2V5Og==":  "wk_key", // "wk_key:"
		"Basic d2tfa2V5":      "wk_key", // "wk_key", no colon
		"basic d2tfa2V5Og":    "wk_key", // unpadded, lower-case scheme
		"Bearer d2tfa2V5Og==": "",
		"Basic !!!":           "",
		"":                    "",
	}
	for header, want := range cases {
		if got := BasicWriteKey(header); got != want {
			t.Errorf("BasicWriteKey(%q) = %q, want %q", header, got, want)
		}
	}
}

// TestBacklogEstimate: the handler refuses at once what the committer's
// backlog says would wait beyond the bound, so the estimate must follow the
// store both ways — and never stay low once refusals leave only small
// commits to observe.
func TestBacklogEstimate(t *testing.T) {
	c := NewCommitter(&fakeLog{}, CommitterOptions{})
	c.observe(100, time.Millisecond)
	if got := c.Backlog(10_000); got != 0 {
		t.Fatalf("before any large commit: backlog %v, want no estimate", got)
	}
	c.observe(5000, time.Second) // 5,000 events/s
	if got := c.Backlog(10_000); got != 2*time.Second {
		t.Fatalf("10,000 events at 5,000/s: %v", got)
	}
	if got := c.Backlog(0); got != 0 {
		t.Fatalf("nothing waiting: %v", got)
	}
	c.observe(5000, 5*time.Second) // a slow commit: the estimate falls
	slow := c.Backlog(10_000)
	if slow <= 2*time.Second {
		t.Fatalf("after a slow commit: %v", slow)
	}
	c.observe(100, 50*time.Millisecond) // small and slow: says nothing new
	if got := c.Backlog(10_000); got != slow {
		t.Fatalf("a small slow commit moved the estimate: %v -> %v", slow, got)
	}
	c.observe(100, time.Millisecond) // small and fast: at least 100,000/s
	if got := c.Backlog(10_000); got > 100*time.Millisecond {
		t.Fatalf("after a fast small commit: %v", got)
	}
}
