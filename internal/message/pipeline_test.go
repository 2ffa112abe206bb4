package message_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

func TestSendOnceByKey(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, map[string]any{"first_name": "Zoé"})
	h.start()
	r := smsHello
	r.ProfileID, r.Key, r.Campaign = 1, "order-42", "soldes"
	first := h.send(r)
	second := h.send(r) // a client retry: the same message
	if first.ID != second.ID {
		t.Fatalf("two messages for one key: %d and %d", first.ID, second.ID)
	}
	m := h.wait("api:order-42", store.MessageSent)
	if m.Provider != "fake-sms" || m.ProviderID == "" || m.Attempts != 1 {
		t.Errorf("sent message: %+v", m)
	}
	sent := h.sms.Sent()
	if len(sent) != 1 || sent[0].Key != "api:order-42" || sent[0].To != "+33600000001" {
		t.Fatalf("provider got %+v", sent)
	}
	if want := "Bonjour Zoé https://shop.example/soldes?utm_campaign=soldes&utm_medium=sms&utm_source=parcours"; sent[0].Body != want {
		t.Errorf("body %q, want %q", sent[0].Body, want)
	}
	es := h.events(message.EventSent, 1)
	if len(es) != 1 || es[0].UserID != "u1" || es[0].MessageID != fmt.Sprintf("parcours-msg-%d-sent", m.ID) {
		t.Fatalf("Message Sent events: %+v", es)
	}
}

func TestRetriesWithBackoffThenFails(t *testing.T) {
	h := newHarness(t, func(o *message.Options) { o.MaxAttempts = 3 })
	h.customer(1, nil)
	h.sms.Fail = func(m *provider.Message, attempt int) error {
		if strings.HasSuffix(m.Key, "flaky") && attempt >= 2 {
			return nil
		}
		return &provider.Error{Provider: "fake-sms", Temporary: true, RetryAfter: 10 * time.Minute, Err: errors.New("429 too many requests")}
	}
	h.start()
	for _, k := range []string{"flaky", "down"} {
		r := smsHello
		r.ProfileID, r.Key = 1, k
		h.send(r)
	}
	m := h.wait("api:flaky", store.MessageRetrying)
	// RetryAfter (10 min) is longer than the backoff (30-60 s): it wins.
	if d := m.DueAt.Sub(t0); d < 10*time.Minute || !strings.Contains(m.Reason, "429") {
		t.Fatalf("retry due in %v, reason %q", d, m.Reason)
	}
	h.clock.Advance(11 * time.Minute)
	h.wait("api:flaky", store.MessageSent)
	// Each retry is due 10 minutes later: move the clock on whenever the
	// workers have recorded the previous attempt.
	var down *store.OutboxMessage
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		m, _ := h.st.MessageByKey(context.Background(), "api:down")
		if m.Status == store.MessageFailed {
			down = m
			break
		}
		if m.Status == store.MessageRetrying {
			h.clock.Set(m.DueAt)
		}
	}
	if down == nil || down.Attempts != 3 || !strings.Contains(down.Reason, "gave up after 3 attempts") {
		t.Fatalf("failed message: %+v", down)
	}
	if es := h.events(message.EventFailed, 1); len(es) != 1 {
		t.Fatalf("Message Failed events: %d", len(es))
	}
}

func TestBounceSuppressesAddress(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, nil)
	h.sms.Fail = func(*provider.Message, int) error {
		return &provider.Error{Provider: "fake-sms", Suppress: true, Code: "21211", Err: errors.New("invalid 'To' number")}
	}
	h.start()
	r := smsHello
	r.ProfileID, r.Key = 1, "a"
	h.send(r)
	m := h.wait("api:a", store.MessageFailed)
	if m.Attempts != 1 {
		t.Fatalf("a permanent error was retried: %+v", m)
	}
	r.Key = "b"
	again := h.send(r)
	if again.Status != store.MessageSkipped || !strings.Contains(again.Reason, "address suppressed") {
		t.Fatalf("send to a suppressed address: %s %q", again.Status, again.Reason)
	}
	// Transactional messages pass opt-outs but never suppressions.
	r.Key, r.Topic = "c", "order_updates"
	if tr := h.send(r); tr.Status != store.MessageSkipped {
		t.Fatalf("transactional send to a suppressed address: %s", tr.Status)
	}
}

func TestNoProviderFailsClearly(t *testing.T) {
	h := newHarness(t, nil)
	h.p = message.New(h.st, nil, nil, message.Options{Clock: h.clock, Poll: 10 * time.Millisecond})
	h.customer(1, nil)
	h.start()
	r := smsHello
	r.ProfileID, r.Key = 1, "x"
	h.send(r)
	if m := h.wait("api:x", store.MessageFailed); m.Reason != "no provider configured for channel sms" {
		t.Fatalf("reason %q", m.Reason)
	}
}

// TestRateLimitHoldsAcrossWorkers sends through 8 workers to a provider
// limited to 50/s: 30 messages take at least 29/50 s.
func TestRateLimitHoldsAcrossWorkers(t *testing.T) {
	h := newHarness(t, func(o *message.Options) { o.Workers = 8 })
	h.p = message.New(h.st, nil, message.ProviderSet{provider.SMS: {Provider: h.sms, Limits: message.Limits{Rate: 50}}},
		message.Options{Clock: h.clock, Workers: 8, Poll: 10 * time.Millisecond})
	for i := range 30 {
		h.customer(int64(i+1), nil)
	}
	var mu sync.Mutex
	var stamps []time.Time
	h.sms.Fail = func(*provider.Message, int) error {
		mu.Lock()
		stamps = append(stamps, time.Now())
		mu.Unlock()
		return nil
	}
	for i := range 30 {
		r := smsHello
		r.ProfileID, r.Key = int64(i+1), fmt.Sprint("k", i)
		h.send(r)
	}
	// The bucket starts with one token: the 30th send is granted 29/50 s
	// after the first grant, which comes after began. Measured from
	// began, the span only grows when a worker is late to call the
	// provider after its grant (under the race detector on a loaded
	// machine, tens of milliseconds); measured from the first call, it
	// shrank when that first call was the late one.
	began := time.Now()
	h.start()
	h.wait("api:k29", store.MessageSent)
	deadline := time.Now().Add(3 * time.Second)
	for len(h.sms.Sent()) < 30 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(stamps) != 30 {
		t.Fatalf("%d sends, want 30", len(stamps))
	}
	last := stamps[0]
	for _, s := range stamps {
		if s.After(last) {
			last = s
		}
	}
	if got := last.Sub(began); got < 29*time.Second/50-time.Millisecond { // the bucket's float arithmetic
		t.Fatalf("30 sends took %v at 50/s: the limit did not hold", got)
	}
}

// TestCrashedWorkersClaimsComeBack leases a message to a worker that
// never finishes (a crashed process): after the lease, it is sent once.
func TestCrashedWorkersClaimsComeBack(t *testing.T) {
	h := newHarness(t, nil)
	h.customer(1, nil)
	r := smsHello
	r.ProfileID, r.Key = 1, "lost"
	h.send(r)
	claimed, err := h.st.ClaimMessages(context.Background(), "", "crashed", h.clock.Now(), 2*time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	h.start()
	time.Sleep(100 * time.Millisecond)
	if n := len(h.sms.Sent()); n != 0 {
		t.Fatalf("sent %d while another worker held the lease", n)
	}
	h.clock.Advance(3 * time.Minute)
	m := h.wait("api:lost", store.MessageSent)
	if m.Attempts != 2 || len(h.sms.Sent()) != 1 {
		t.Fatalf("after the lease: %+v, %d sends", m, len(h.sms.Sent()))
	}
}

// TestNoSendOnAnExpiringLease: a message that waited for its provider's
// rate until its lease was half gone goes back untried (its attempt taken
// back) instead of being sent while another claim could take it.
func TestNoSendOnAnExpiringLease(t *testing.T) {
	h := newHarness(t, nil)
	h.p = message.New(h.st, nil, message.ProviderSet{provider.SMS: {Provider: h.sms, Limits: message.Limits{Rate: 2}}},
		message.Options{Clock: h.clock, Workers: 2, Poll: 10 * time.Millisecond, Lease: 2 * time.Minute})
	h.customer(1, nil)
	h.customer(2, nil)
	// Whichever goes first moves the clock on: the other, waiting for the
	// rate limit, finds its lease 3/4 gone.
	var once sync.Once
	h.sms.Fail = func(*provider.Message, int) error {
		once.Do(func() { h.clock.Advance(90 * time.Second) })
		return nil
	}
	for i, k := range []string{"first", "second"} {
		r := smsHello
		r.ProfileID, r.Key = int64(i+1), k
		h.send(r)
	}
	h.start()
	first, second := h.wait("api:first", store.MessageSent), h.wait("api:second", store.MessageSent)
	later := second
	if first.Version > second.Version {
		later = first
	}
	// Claimed, handed back, claimed again, sent: version 5, one attempt,
	// one call to the provider.
	if later.Version != 5 || later.Attempts != 1 || h.sms.Tries(later.SendKey) != 1 {
		t.Fatalf("the message that waited: version %d, %d attempts, %d provider calls; want 5, 1, 1",
			later.Version, later.Attempts, h.sms.Tries(later.SendKey))
	}
}
