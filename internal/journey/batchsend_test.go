package journey_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
)

// batchRecorder is a BatchSender: a Recorder that also takes batches, and
// counts them.
type batchRecorder struct {
	journey.Recorder
	mu      sync.Mutex
	batches []int // the size of each batch
	singles int   // calls of Send
}

func (b *batchRecorder) Send(ctx context.Context, r journey.SendRequest) error {
	b.mu.Lock()
	b.singles++
	b.mu.Unlock()
	return b.Recorder.Send(ctx, r)
}

func (b *batchRecorder) SendBatch(ctx context.Context, rs []journey.SendRequest) []error {
	b.mu.Lock()
	b.batches = append(b.batches, len(rs))
	b.mu.Unlock()
	errs := make([]error, len(rs))
	for i, r := range rs {
		errs[i] = b.Recorder.Send(ctx, r)
	}
	return errs
}

const welcome = `
kind: journey
id: welcome
name: Welcome
triggers: [{event: Signed Up}]
steps:
  - send: {channel: email, template: welcome}
  - wait: {for: 1d}
  - send: {channel: email, template: tips}
`

// TestBatchSenderGetsEachSendOnceAndRetriesOnlyItsFailures enrols 40
// customers at once: a BatchSender gets every send step through
// SendBatch (never Send), each key once, and a send that fails in a batch
// is retried for its enrolment alone while the others go on.
func TestBatchSenderGetsEachSendOnceAndRetriesOnlyItsFailures(t *testing.T) {
	w := newWorld(t)
	bs := &batchRecorder{}
	failing := "user7"
	var failOnce sync.Once
	w.eng = w.engine(journey.Options{Sender: bs, SendConcurrency: 4})
	w.apply(welcome)
	bad := int64(0)
	for i := range 40 {
		w.identify(fmt.Sprint("user", i), map[string]any{"email": fmt.Sprintf("u%d@example.com", i)})
	}
	bad = w.profile(failing)
	bs.Fail = func(r journey.SendRequest) error {
		if r.Profile != bad {
			return nil
		}
		var err error
		failOnce.Do(func() { err = errors.New("provider busy") })
		return err
	}
	for i := range 40 {
		w.track(fmt.Sprint("user", i), "Signed Up", nil)
	}
	w.tick()
	if bs.singles != 0 {
		t.Fatalf("Send called %d times: a BatchSender gets batches", bs.singles)
	}
	total := 0
	for _, n := range bs.batches {
		total += n
	}
	if total != 40 || len(bs.Sent()) != 39 {
		t.Fatalf("%d sends in %d batches (%v), %d recorded; want 40 handed over and 39 recorded (one failed)",
			total, len(bs.batches), bs.batches, len(bs.Sent()))
	}
	// The failed one is retried two minutes later, alone; the others wait
	// for their next step.
	w.at(3 * time.Minute)
	var got []string
	for _, s := range bs.Sent() {
		if s.Profile == bad {
			got = append(got, s.Template)
		}
	}
	if len(got) != 1 || got[0] != "welcome" || len(bs.Sent()) != 40 {
		t.Fatalf("after the retry, %s got %v (%d sends in all, want 40)", failing, got, len(bs.Sent()))
	}
	w.at(24*time.Hour + 5*time.Minute)
	seen := map[string]bool{}
	for _, s := range bs.Sent() {
		if seen[s.Key] {
			t.Fatalf("key %s sent twice", s.Key)
		}
		seen[s.Key] = true
	}
	if len(seen) != 80 {
		t.Fatalf("%d distinct sends, want 80 (welcome and tips to 40)", len(seen))
	}
}
