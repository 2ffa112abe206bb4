package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// runMessages runs the tests of store.Messages.
func runMessages(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"EnqueueIsIdempotent", testEnqueueIdempotent},
		{"ClaimLeasesAndFinish", testClaimLeases},
		{"ConcurrentClaimsNeverShare", testConcurrentClaims},
		{"NodeLeases", testNodeLeases},
		{"NotifiedAndCounted", testNotifiedAndCounted},
		{"ChangedSinceReadStaysUnnotified", testNotifiedRace},
		{"Templates", testTemplates},
		{"ConsentLedgerAndSuppressions", testConsent},
		{"BatchReads", testBatchReads},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func outboxMessage(key string, profile int64, due time.Time) *store.OutboxMessage {
	return &store.OutboxMessage{
		SendKey: key, ProfileID: profile, UserID: "u" + fmt.Sprint(profile), Channel: "email", Topic: "newsletter",
		Address: "a@example.com", Payload: json.RawMessage(`{"Subject":"hi"}`), Status: store.MessageQueued,
		DueAt: due, CreatedAt: t0,
	}
}

func enqueue(t *testing.T, s store.Store, ms ...*store.OutboxMessage) []bool {
	t.Helper()
	created, err := s.EnqueueMessages(context.Background(), ms)
	if err != nil {
		t.Fatal(err)
	}
	return created
}

func testEnqueueIdempotent(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := outboxMessage("k1", 1, t0)
	if c := enqueue(t, s, a); !c[0] || a.ID == 0 {
		t.Fatalf("first enqueue: created %v, id %d", c, a.ID)
	}
	again, other := outboxMessage("k1", 1, t0), outboxMessage("k2", 1, t0)
	c := enqueue(t, s, again, other)
	if c[0] || !c[1] || again.ID != a.ID || other.ID == a.ID {
		t.Fatalf("second enqueue: created %v, ids %d %d (first %d)", c, again.ID, other.ID, a.ID)
	}
	got, err := s.MessageByKey(ctx, "k1")
	if err != nil || got.ID != a.ID || string(got.Payload) != `{"Subject":"hi"}` || got.Status != store.MessageQueued {
		t.Fatalf("MessageByKey: %+v, %v", got, err)
	}
	if _, err := s.OutboxMessage(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing message: %v, want ErrNotFound", err)
	}
}

func testClaimLeases(t *testing.T, s store.Store) {
	ctx := context.Background()
	now := t0.Add(time.Hour)
	early, late := outboxMessage("early", 1, now.Add(-time.Minute)), outboxMessage("late", 1, now.Add(time.Minute))
	enqueue(t, s, early, late)
	got, err := s.ClaimMessages(ctx, "", "w1", now, 30*time.Second, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != early.ID || got[0].Status != store.MessageSending || got[0].Attempts != 1 {
		t.Fatalf("claim: %+v, want only the due message, sending, attempt 1", got)
	}
	// Leased: not claimable again until the lease expires.
	if again, _ := s.ClaimMessages(ctx, "", "w2", now.Add(10*time.Second), 30*time.Second, 10); len(again) != 0 {
		t.Fatalf("leased message claimed again: %+v", again)
	}
	// The lease expires (the worker crashed): another claim takes it, and
	// the first worker's late outcome no longer applies.
	retake, err := s.ClaimMessages(ctx, "", "w2", now.Add(31*time.Second), 30*time.Second, 1)
	if err != nil || len(retake) != 1 || retake[0].ID != early.ID || retake[0].Attempts != 2 {
		t.Fatalf("claim after lease expiry: %+v, %v", retake, err)
	}
	sentAt := now.Add(32 * time.Second)
	n, err := s.FinishMessages(ctx, []store.MessageUpdate{
		{ID: early.ID, LeaseToken: "w1", Status: store.MessageSent, At: sentAt, SentAt: sentAt},
	})
	if err != nil || n != 0 {
		t.Fatalf("stale finish applied %d, %v", n, err)
	}
	n, err = s.FinishMessages(ctx, []store.MessageUpdate{
		{ID: early.ID, LeaseToken: "w2", Status: store.MessageSent, Provider: "fake", ProviderID: "p-1", At: sentAt, SentAt: sentAt},
	})
	if err != nil || n != 1 {
		t.Fatalf("finish applied %d, %v", n, err)
	}
	m, err := s.MessageByProviderID(ctx, "fake", "p-1")
	if err != nil || m.ID != early.ID || m.Status != store.MessageSent || !m.SentAt.Equal(sentAt) || !m.DueAt.IsZero() {
		t.Fatalf("after finish: %+v, %v", m, err)
	}
	// A message handed back untried keeps its attempts.
	back := outboxMessage("back", 1, now)
	enqueue(t, s, back)
	got, _ = s.ClaimMessages(ctx, "", "w5", now, time.Minute, 10)
	if len(got) != 1 || got[0].ID != back.ID {
		t.Fatalf("claim: %+v", got)
	}
	if n, _ := s.FinishMessages(ctx, []store.MessageUpdate{{ID: back.ID, LeaseToken: "w5", Status: store.MessageQueued, DueAt: now, At: now, Unclaim: true}}); n != 1 {
		t.Fatal("unclaim not applied")
	}
	if m, _ := s.OutboxMessage(ctx, back.ID); m.Attempts != 0 || m.Status != store.MessageQueued {
		t.Fatalf("after unclaim: %+v", m)
	}
	// A final message is never claimed; a retrying one is, when due.
	late2, _ := s.ClaimMessages(ctx, "", "w3", now.Add(2*time.Minute), time.Minute, 10)
	if len(late2) != 2 || late2[0].ID != back.ID && late2[1].ID != back.ID {
		t.Fatalf("claim: %+v, want the late message only", late2)
	}
	retryAt := now.Add(10 * time.Minute)
	if n, _ := s.FinishMessages(ctx, []store.MessageUpdate{{ID: late.ID, LeaseToken: "w3", Status: store.MessageRetrying,
		Reason: "timeout", DueAt: retryAt, At: now.Add(2 * time.Minute)},
		{ID: back.ID, LeaseToken: "w3", Status: store.MessageSent, SentAt: now, At: now}}); n != 2 {
		t.Fatal("retry not recorded")
	}
	if got, _ := s.ClaimMessages(ctx, "", "w4", retryAt.Add(-time.Second), time.Minute, 10); len(got) != 0 {
		t.Fatalf("claimed before its retry time: %+v", got)
	}
	if got, _ := s.ClaimMessages(ctx, "", "w4", retryAt, time.Minute, 10); len(got) != 1 || got[0].Reason != "timeout" {
		t.Fatalf("retry claim: %+v", got)
	}
}

func testConcurrentClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	const total, workers = 400, 8
	var batch []*store.OutboxMessage
	for i := range total {
		batch = append(batch, outboxMessage(fmt.Sprint("c", i), int64(i%7), t0))
	}
	enqueue(t, s, batch...)
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			token := fmt.Sprint("w", w)
			for {
				got, err := s.ClaimMessages(ctx, "", token, t0.Add(time.Minute), time.Hour, 7)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, m := range got {
					if prev, dup := seen[m.ID]; dup {
						errs <- fmt.Errorf("message %d claimed by %s and %s", m.ID, prev, token)
					}
					seen[m.ID] = token
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Fatalf("claimed %d messages, want %d", len(seen), total)
	}
}

func testNotifiedAndCounted(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b, c := outboxMessage("n1", 5, t0), outboxMessage("n2", 5, t0), outboxMessage("n3", 6, t0)
	b.Channel, c.Transactional = "sms", false
	tr := outboxMessage("n4", 5, t0)
	tr.Transactional = true
	enqueue(t, s, a, b, c, tr)
	claimed, _ := s.ClaimMessages(ctx, "", "w", t0, time.Minute, 10)
	var us []store.MessageUpdate
	for i, m := range claimed {
		at := t0.Add(time.Duration(i+1) * time.Hour)
		us = append(us, store.MessageUpdate{ID: m.ID, LeaseToken: "w", Status: store.MessageSent, At: at, SentAt: at})
	}
	if n, err := s.FinishMessages(ctx, us); err != nil || n != 4 {
		t.Fatalf("finish: %d, %v", n, err)
	}
	count := func(q store.SentQuery) int {
		n, err := s.CountSent(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(store.SentQuery{ProfileIDs: []int64{5}, Since: t0}); n != 3 {
		t.Fatalf("sent to profile 5: %d, want 3", n)
	}
	if n := count(store.SentQuery{ProfileIDs: []int64{5, 6}, Since: t0, Marketing: true}); n != 3 {
		t.Fatalf("marketing sent to 5 and 6: %d, want 3", n)
	}
	if n := count(store.SentQuery{ProfileIDs: []int64{5}, Since: t0, Channel: "sms"}); n != 1 {
		t.Fatalf("sms sent to 5: %d, want 1", n)
	}
	if n := count(store.SentQuery{ProfileIDs: []int64{5, 6}, Since: t0.Add(3 * time.Hour)}); n != 2 {
		t.Fatalf("sent since +3h: %d, want 2", n)
	}
	un, err := s.Unnotified(ctx, 100)
	if err != nil || len(un) != 4 {
		t.Fatalf("unnotified: %d, %v", len(un), err)
	}
	if err := s.MarkNotified(ctx, un[:3]); err != nil {
		t.Fatal(err)
	}
	if un, _ = s.Unnotified(ctx, 100); len(un) != 1 {
		t.Fatalf("unnotified after marking: %d, want 1", len(un))
	}
	list, err := s.ListMessages(ctx, store.MessageQuery{ProfileID: 5, Limit: 2})
	if err != nil || len(list) != 2 || list[0].ID < list[1].ID {
		t.Fatalf("list: %+v, %v", list, err)
	}
	if more, _ := s.ListMessages(ctx, store.MessageQuery{ProfileID: 5, Before: list[1].ID}); len(more) != 1 {
		t.Fatalf("second page: %d, want 1", len(more))
	}
	if both, _ := s.ListMessages(ctx, store.MessageQuery{ProfileIDs: []int64{5, 6}}); len(both) != 4 {
		t.Fatalf("messages of profiles 5 and 6: %d, want 4", len(both))
	}
}

func testTemplates(t *testing.T, s store.Store) {
	ctx := context.Background()
	tr := &store.TemplateRecord{ID: "welcome", Name: "Welcome", Body: json.RawMessage(`{"email":{}}`), UpdatedAt: t0}
	if err := s.SaveTemplate(ctx, tr); err != nil || tr.Version != 1 {
		t.Fatalf("save: version %d, %v", tr.Version, err)
	}
	tr.Name, tr.UpdatedAt = "Welcome!", t0.Add(time.Hour)
	if err := s.SaveTemplate(ctx, tr); err != nil || tr.Version != 2 || !tr.CreatedAt.Equal(t0) {
		t.Fatalf("update: version %d created %v, %v", tr.Version, tr.CreatedAt, err)
	}
	got, err := s.Template(ctx, "welcome")
	if err != nil || got.Name != "Welcome!" || got.Version != 2 || string(got.Body) != `{"email":{}}` {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if all, _ := s.ListTemplates(ctx); len(all) != 1 {
		t.Fatalf("list: %d", len(all))
	}
	if err := s.DeleteTemplate(ctx, "welcome"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Template(ctx, "welcome"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted template: %v", err)
	}
}

func testConsent(t *testing.T, s store.Store) {
	ctx := context.Background()
	rec := func(key string, granted bool, at time.Time) bool {
		t.Helper()
		added, err := s.RecordConsent(ctx, &store.ConsentRecord{Key: key, ProfileID: 9, Channel: "email", Topic: "offers",
			Granted: granted, Source: "api", At: at, Proof: json.RawMessage(`{"ip":"192.0.2.1"}`)})
		if err != nil {
			t.Fatal(err)
		}
		return added
	}
	if !rec("a", true, t0.Add(time.Hour)) || rec("a", true, t0.Add(time.Hour)) {
		t.Fatal("the same key must be recorded once")
	}
	// An older withdrawal arriving late goes in the ledger but does not
	// override the newer grant.
	rec("b", false, t0)
	state, err := s.ConsentState(ctx, []int64{9})
	if err != nil || len(state) != 1 || !state[0].Granted {
		t.Fatalf("state: %+v, %v", state, err)
	}
	rec("c", false, t0.Add(2*time.Hour))
	state, _ = s.ConsentState(ctx, []int64{9, 10})
	if len(state) != 1 || state[0].Granted {
		t.Fatalf("state after a newer withdrawal: %+v", state)
	}
	ledger, err := s.ConsentLedger(ctx, []int64{9}, 0)
	if err != nil || len(ledger) != 3 || ledger[0].Source != "api" || string(ledger[2].Proof) == "" {
		t.Fatalf("ledger: %+v, %v", ledger, err)
	}
	// A key finds its record (what a retry answers).
	if got, err := s.ConsentRecord(ctx, "b"); err != nil || got.ID != ledger[1].ID || got.Granted || !got.At.Equal(t0.Truncate(time.Microsecond)) || string(got.Proof) != `{"ip":"192.0.2.1"}` {
		t.Fatalf("record of key b: %+v, %v; want %+v", got, err, ledger[1])
	}
	if _, err := s.ConsentRecord(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record of an unknown key: %v", err)
	}
	if _, err := s.Suppression(ctx, "email", "x@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("not suppressed: %v", err)
	}
	sup := store.Suppression{Channel: "email", Address: "x@example.com", Reason: "hard bounce", Source: "smtp", At: t0}
	if err := s.Suppress(ctx, sup); err != nil {
		t.Fatal(err)
	}
	if err := s.Suppress(ctx, sup); err != nil {
		t.Fatalf("suppressing twice: %v", err)
	}
	if got, err := s.Suppression(ctx, "email", "x@example.com"); err != nil || got.Reason != "hard bounce" {
		t.Fatalf("suppression: %+v, %v", got, err)
	}
}

// testNotifiedRace reads a message's state for announcement, then the
// message changes at the same instant (a fake clock, or two changes in one
// microsecond): marking the old state notified must leave the new one
// to announce.
func testNotifiedRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	m := outboxMessage("race", 1, t0)
	enqueue(t, s, m)
	if read, _ := s.Unnotified(ctx, 10); len(read) != 0 {
		t.Fatalf("a queued message (nothing to announce) is unnotified: %+v", read)
	}
	// Deferred (announced), read for announcement, then sent at once.
	if _, err := s.ClaimMessages(ctx, "", "w", t0, time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	if n, err := s.FinishMessages(ctx, []store.MessageUpdate{{ID: m.ID, LeaseToken: "w", Status: store.MessageDeferred, DueAt: t0, At: t0}}); err != nil || n != 1 {
		t.Fatalf("defer: %d %v", n, err)
	}
	read, err := s.Unnotified(ctx, 10)
	if err != nil || len(read) != 1 || read[0].Status != store.MessageDeferred {
		t.Fatalf("unnotified: %v %v", read, err)
	}
	if _, err := s.ClaimMessages(ctx, "", "w2", t0, time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	if n, err := s.FinishMessages(ctx, []store.MessageUpdate{{ID: m.ID, LeaseToken: "w2", Status: store.MessageSent, SentAt: t0, At: t0}}); err != nil || n != 1 {
		t.Fatalf("finish: %d %v", n, err)
	}
	if err := s.MarkNotified(ctx, read); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Unnotified(ctx, 10)
	if len(after) != 1 || after[0].Status != store.MessageSent {
		t.Fatalf("the sent state was marked notified unannounced: %+v", after)
	}
	if err := s.MarkNotified(ctx, after); err != nil {
		t.Fatal(err)
	}
	if rest, _ := s.Unnotified(ctx, 10); len(rest) != 0 {
		t.Fatalf("still unnotified: %+v", rest)
	}
}

// testBatchReads checks the reads a batch of sends makes at once: the
// messages of many send keys, the suppressions of many addresses.
func testBatchReads(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := outboxMessage("batch-a", 1, t0), outboxMessage("batch-b", 2, t0)
	enqueue(t, s, a, b)
	got, err := s.MessagesByKeys(ctx, []string{"batch-b", "missing", "batch-a", "batch-a"})
	if err != nil || len(got) != 2 {
		t.Fatalf("MessagesByKeys: %d messages, %v; want 2", len(got), err)
	}
	byKey := map[string]*store.OutboxMessage{}
	for _, m := range got {
		byKey[m.SendKey] = m
	}
	if byKey["batch-a"] == nil || byKey["batch-a"].ID != a.ID || byKey["batch-b"] == nil || byKey["batch-b"].ProfileID != 2 ||
		string(byKey["batch-b"].Payload) != `{"Subject":"hi"}` {
		t.Fatalf("MessagesByKeys: %+v", byKey)
	}
	if got, err := s.MessagesByKeys(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("MessagesByKeys of no keys: %v, %v", got, err)
	}
	for _, x := range []store.Suppression{
		{Channel: "email", Address: "bounced@example.com", Reason: "hard bounce", Source: "smtp", At: t0},
		{Channel: "sms", Address: "+33600000001", Reason: "STOP", Source: "twilio", At: t0},
	} {
		if err := s.Suppress(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	sups, err := s.Suppressions(ctx, "email", []string{"ok@example.com", "bounced@example.com", "+33600000001"})
	if err != nil || len(sups) != 1 || sups[0].Address != "bounced@example.com" || sups[0].Reason != "hard bounce" ||
		!sups[0].At.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("Suppressions on email: %+v, %v; want bounced@example.com only (the phone is suppressed on sms)", sups, err)
	}
	if sups, err := s.Suppressions(ctx, "sms", nil); err != nil || len(sups) != 0 {
		t.Fatalf("Suppressions of no addresses: %v, %v", sups, err)
	}
}
