package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/parcours/parcours/internal/store"
)

// testRequestKeys: a request key is claimed once, answered once (the first
// answer stays), released only while unanswered, unique within its scope,
// and one of ten concurrent claims wins.
func testRequestKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	k := &store.RequestKey{Scope: "source", Key: "k-1", Fingerprint: "fp-1", CreatedAt: t0}
	got, claimed, err := s.ClaimRequestKey(ctx, k)
	if err != nil || !claimed || got.Answered() {
		t.Fatalf("first claim: %+v, %v, %v", got, claimed, err)
	}
	// Claimed again (a retry while the first is in flight, or after a
	// crash): the stored key, unanswered, with its fingerprint.
	other := *k
	other.Fingerprint = "fp-2"
	got, claimed, err = s.ClaimRequestKey(ctx, &other)
	if err != nil || claimed || got.Answered() || got.Fingerprint != "fp-1" || !got.CreatedAt.Equal(t0.Truncate(1000)) {
		t.Fatalf("second claim: %+v, %v, %v", got, claimed, err)
	}
	answer := *k
	answer.Status, answer.Response, answer.ResourceID = 201, []byte(`{"id":"src_1"}`), "src_1"
	if err := s.AnswerRequestKey(ctx, &answer); err != nil {
		t.Fatal(err)
	}
	later := answer
	later.Status, later.Response, later.ResourceID = 200, []byte(`{"id":"src_2"}`), "src_2"
	if err := s.AnswerRequestKey(ctx, &later); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseRequestKey(ctx, "source", "k-1"); err != nil {
		t.Fatal(err)
	}
	got, claimed, err = s.ClaimRequestKey(ctx, k)
	if err != nil || claimed || got.Status != 201 || !bytes.Equal(got.Response, answer.Response) || got.ResourceID != "src_1" {
		t.Fatalf("answered key: %+v, %v, %v; want the first answer, kept after a release", got, claimed, err)
	}
	// The same key in another scope is another key; released unanswered,
	// it can be claimed again.
	e := &store.RequestKey{Scope: "enrolment", Key: "k-1", Fingerprint: "fp-e", CreatedAt: t0}
	if _, claimed, err := s.ClaimRequestKey(ctx, e); err != nil || !claimed {
		t.Fatalf("same key, other scope: %v, %v", claimed, err)
	}
	if err := s.ReleaseRequestKey(ctx, "enrolment", "k-1"); err != nil {
		t.Fatal(err)
	}
	if _, claimed, err := s.ClaimRequestKey(ctx, e); err != nil || !claimed {
		t.Fatalf("claim after a release: %v, %v", claimed, err)
	}
	var wg sync.WaitGroup
	wins := make(chan bool, 10)
	for range 10 {
		wg.Go(func() {
			_, claimed, err := s.ClaimRequestKey(ctx, &store.RequestKey{Scope: "consent", Key: "race", Fingerprint: "fp", CreatedAt: t0})
			if err != nil {
				t.Error(err)
			}
			wins <- claimed
		})
	}
	wg.Wait()
	close(wins)
	n := 0
	for w := range wins {
		if w {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d of 10 concurrent claims won, want 1", n)
	}
}
