package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/store"
)

func runSurveys(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Definitions", testSurveyDefinitions},
		{"SendsOncePerKey", testSurveySends},
		{"OneAnswerPerSend", testSurveyOneAnswer},
		{"PendingByChannel", testSurveyPending},
		{"ErasedWithThePerson", testSurveyErasure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func testSurveyDefinitions(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Survey(ctx, "nps"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Survey of nothing = %v, want ErrNotFound", err)
	}
	r := &store.SurveyRecord{ID: "nps", Definition: []byte(`{"id":"nps","type":"nps"}`), UpdatedAt: t0}
	if changed, err := s.SaveSurvey(ctx, r); err != nil || !changed || r.Version != 1 {
		t.Fatalf("SaveSurvey = %v, %v, version %d; want a first version", changed, err, r.Version)
	}
	same := &store.SurveyRecord{ID: "nps", Definition: []byte(`{"id":"nps","type":"nps"}`), UpdatedAt: t0.Add(time.Hour)}
	if changed, err := s.SaveSurvey(ctx, same); err != nil || changed || same.Version != 1 || !same.UpdatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("SaveSurvey unchanged = %v, %v, %+v; want version 1 left alone", changed, err, same)
	}
	next := &store.SurveyRecord{ID: "nps", Definition: []byte(`{"id":"nps","type":"nps","name":"x"}`), UpdatedAt: t0.Add(time.Hour)}
	if changed, err := s.SaveSurvey(ctx, next); err != nil || !changed || next.Version != 2 {
		t.Fatalf("SaveSurvey changed = %v, %v, version %d; want 2", changed, err, next.Version)
	}
	if _, err := s.SaveSurvey(ctx, &store.SurveyRecord{ID: "csat", Definition: []byte(`{"id":"csat"}`), UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Survey(ctx, "nps")
	if err != nil || got.Version != 2 || string(got.Definition) != `{"id": "nps", "name": "x", "type": "nps"}` && string(got.Definition) != `{"id":"nps","type":"nps","name":"x"}` {
		t.Fatalf("Survey = %+v (%s), %v", got, got.Definition, err)
	}
	list, err := s.ListSurveys(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "csat" || list[1].ID != "nps" {
		t.Fatalf("ListSurveys = %+v, %v; want csat, nps", list, err)
	}
}

func surveySend(key string, profile int64, channel string, sent time.Time) *store.SurveySend {
	return &store.SurveySend{Key: key, SurveyID: "nps", Type: "nps", ProfileID: profile, Channel: channel, StoreID: "lyon-01",
		JourneyID: "post-purchase", Agent: "ana", ConversationID: "c1", Language: "fr", SentAt: sent, ExpiresAt: sent.Add(14 * 24 * time.Hour)}
}

func testSurveySends(t *testing.T, s store.Store) {
	ctx := context.Background()
	x := surveySend("k1", 7, "best", t0)
	if created, err := s.CreateSurveySend(ctx, x); err != nil || !created {
		t.Fatalf("CreateSurveySend = %v, %v", created, err)
	}
	again := surveySend("k1", 8, "email", t0.Add(time.Hour))
	if created, err := s.CreateSurveySend(ctx, again); err != nil || created || again.ProfileID != 7 || again.Channel != "best" {
		t.Fatalf("CreateSurveySend again = %v, %v, %+v; want the first one back", created, err, again)
	}
	if err := s.SetSurveySendChannel(ctx, "k1", "sms"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSurveySendChannel(ctx, "nope", "sms"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetSurveySendChannel of nothing = %v", err)
	}
	got, err := s.SurveySend(ctx, "k1")
	if err != nil || got.Channel != "sms" || got.StoreID != "lyon-01" || got.JourneyID != "post-purchase" || got.Agent != "ana" ||
		got.ConversationID != "c1" || got.Language != "fr" || got.Score != nil || !got.AnsweredAt.IsZero() ||
		!got.SentAt.Equal(t0.Truncate(time.Microsecond)) || !got.ExpiresAt.Equal(t0.Add(14*24*time.Hour).Truncate(time.Microsecond)) {
		t.Fatalf("SurveySend = %+v, %v", got, err)
	}
	if _, err := s.SurveySend(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SurveySend of nothing = %v", err)
	}
}

func testSurveyOneAnswer(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.CreateSurveySend(ctx, surveySend("k1", 7, "sms", t0)); err != nil {
		t.Fatal(err)
	}
	// Concurrent answers: exactly one wins, every caller sees it.
	var wg sync.WaitGroup
	wins := make(chan int, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, answered, err := s.AnswerSurveySend(ctx, "k1", store.SurveyAnswer{Score: i, Comment: "c", Via: "link", At: t0.Add(time.Hour)})
			if err != nil {
				t.Error(err)
				return
			}
			if answered {
				wins <- i
			}
			if x.Score == nil {
				t.Error("an answer returned a send without a score")
			}
		}()
	}
	wg.Wait()
	close(wins)
	var won []int
	for w := range wins {
		won = append(won, w)
	}
	if len(won) != 1 {
		t.Fatalf("%d answers won, want exactly 1", len(won))
	}
	x, answered, err := s.AnswerSurveySend(ctx, "k1", store.SurveyAnswer{Score: 10, Via: "sms", At: t0.Add(2 * time.Hour)})
	if err != nil || answered || x.Score == nil || *x.Score != won[0] || x.AnsweredVia != "link" || x.Comment != "c" ||
		!x.AnsweredAt.Equal(t0.Add(time.Hour).Truncate(time.Microsecond)) {
		t.Fatalf("a second answer = %+v, %v, %v; want the first kept", x, answered, err)
	}
	if _, _, err := s.AnswerSurveySend(ctx, "nope", store.SurveyAnswer{Score: 1, At: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("answering nothing = %v", err)
	}
	yes, no := true, false
	if l, err := s.ListSurveySends(ctx, store.SurveySendQuery{Answered: &yes}); err != nil || len(l) != 1 {
		t.Fatalf("answered sends = %+v, %v", l, err)
	}
	if l, err := s.ListSurveySends(ctx, store.SurveySendQuery{Answered: &no}); err != nil || len(l) != 0 {
		t.Fatalf("unanswered sends = %+v, %v", l, err)
	}
}

func testSurveyPending(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, x := range []*store.SurveySend{
		surveySend("old", 7, "sms", t0),
		surveySend("new", 7, "sms", t0.Add(time.Hour)),
		surveySend("mail", 7, "email", t0.Add(2*time.Hour)),
		surveySend("other", 8, "sms", t0.Add(3*time.Hour)),
	} {
		if _, err := s.CreateSurveySend(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(4 * time.Hour)
	if x, err := s.PendingSurveySend(ctx, 7, "sms", at); err != nil || x.Key != "new" {
		t.Fatalf("PendingSurveySend = %+v, %v; want the newest by sms", x, err)
	}
	if _, _, err := s.AnswerSurveySend(ctx, "new", store.SurveyAnswer{Score: 9, Via: "sms", At: at}); err != nil {
		t.Fatal(err)
	}
	if x, err := s.PendingSurveySend(ctx, 7, "sms", at); err != nil || x.Key != "old" {
		t.Fatalf("PendingSurveySend after an answer = %+v, %v; want the older one", x, err)
	}
	// Expired: none pending.
	if _, err := s.PendingSurveySend(ctx, 7, "sms", t0.Add(15*24*time.Hour)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PendingSurveySend after expiry = %v, want ErrNotFound", err)
	}
	if _, err := s.PendingSurveySend(ctx, 7, "whatsapp", at); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PendingSurveySend on another channel = %v, want ErrNotFound", err)
	}
	if l, err := s.ListSurveySends(ctx, store.SurveySendQuery{ProfileID: 7, Limit: 2}); err != nil || len(l) != 2 || l[0].Key != "mail" || l[1].Key != "new" {
		t.Fatalf("ListSurveySends = %+v, %v", l, err)
	}
}

// testSurveyErasure: a person's surveys and answers (their comments) are
// in their export and go with their erasure; another's stay.
func testSurveyErasure(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, x := range []*store.SurveySend{surveySend("k7", 7, "sms", t0), surveySend("k8", 8, "sms", t0)} {
		if _, err := s.CreateSurveySend(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.AnswerSurveySend(ctx, "k7", store.SurveyAnswer{Score: 2, Comment: "livreur impoli", Via: "sms", At: t0}); err != nil {
		t.Fatal(err)
	}
	p := &store.Person{Profiles: []int64{7}}
	rows, err := s.PersonRows(ctx, p)
	if err != nil || len(rows["survey_sends"]) != 1 || rows["survey_sends"][0]["comment"] != "livreur impoli" {
		t.Fatalf("export: %v, %v", rows["survey_sends"], err)
	}
	rec, err := s.ErasePerson(ctx, p, t0, "test")
	if err != nil || rec.Counts["survey_sends"] != 1 {
		t.Fatalf("erasure: %+v, %v", rec, err)
	}
	if _, err := s.SurveySend(ctx, "k7"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the erased person's survey: %v", err)
	}
	if _, err := s.SurveySend(ctx, "k8"); err != nil {
		t.Fatalf("another's survey: %v", err)
	}
}
