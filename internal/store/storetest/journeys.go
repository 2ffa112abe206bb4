package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// journeyStore is what the journey conformance tests need.
type journeyStore interface {
	store.Journeys
	store.JourneyDateTimers
	store.Tasks
	store.Outbox
	Checkpoint(ctx context.Context, consumer string) (int64, error)
}

// runJourneys runs the tests of store.Journeys.
func runJourneys(t *testing.T, open Opener) {
	t.Run("JourneyDefinitionsAndVersions", func(t *testing.T) { testJourneyDefinitions(t, open(t)) })
	t.Run("JourneyEnrolmentsAndTimers", func(t *testing.T) { testEnrolments(t, open(t)) })
	t.Run("JourneyClaimsNeverShared", func(t *testing.T) { testConcurrentJourneyClaims(t, open(t)) })
	t.Run("JourneyStats", func(t *testing.T) { testJourneyStats(t, open(t)) })
	t.Run("JourneyStatsCountWhatWasSent", func(t *testing.T) { testJourneyStatsSent(t, open(t)) })
	t.Run("JourneyDateTimers", func(t *testing.T) { testDateTimers(t, open(t)) })
	t.Run("TasksOncePerKey", func(t *testing.T) { testTasks(t, open(t)) })
}

func testJourneyDefinitions(t *testing.T, s journeyStore) {
	ctx := context.Background()
	j := &store.JourneyRecord{ID: "cart", Definition: []byte(`{"id":"cart","name":"a"}`), Status: "live", UpdatedAt: t0}
	if err := s.SaveJourney(ctx, j); err != nil || j.Version != 1 {
		t.Fatalf("first save: version %d, err %v", j.Version, err)
	}
	same := &store.JourneyRecord{ID: "cart", Definition: []byte(`{"id":"cart","name":"a"}`), Status: "paused", UpdatedAt: t0.Add(time.Minute)}
	if err := s.SaveJourney(ctx, same); err != nil || same.Version != 1 {
		t.Fatalf("unchanged save: version %d (want 1), err %v", same.Version, err)
	}
	j2 := &store.JourneyRecord{ID: "cart", Definition: []byte(`{"id":"cart","name":"b"}`), Status: "live", UpdatedAt: t0.Add(time.Hour)}
	if err := s.SaveJourney(ctx, j2); err != nil || j2.Version != 2 || !j2.CreatedAt.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("changed save: version %d created %v, err %v", j2.Version, j2.CreatedAt, err)
	}
	v1, err := s.JourneyVersion(ctx, "cart", 1)
	if err != nil || string(v1.Definition) != `{"id":"cart","name":"a"}` || v1.Version != 1 {
		t.Fatalf("version 1: %+v, %v", v1, err)
	}
	latest, err := s.JourneyVersion(ctx, "cart", 0)
	if err != nil || latest.Version != 2 || string(latest.Definition) != `{"id":"cart","name":"b"}` {
		t.Fatalf("latest: %+v, %v", latest, err)
	}
	if _, err := s.JourneyVersion(ctx, "cart", 3); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("version 3: want ErrNotFound, got %v", err)
	}
	if _, err := s.JourneyVersion(ctx, "nope", 0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown journey: want ErrNotFound, got %v", err)
	}
	if err := s.SetJourneyStatus(ctx, "nope", "paused", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("status of unknown journey: want ErrNotFound, got %v", err)
	}
	if err := s.SetJourneyStatus(ctx, "cart", "paused", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListJourneys(ctx)
	if err != nil || len(list) != 1 || list[0].Status != "paused" || list[0].Version != 2 {
		t.Fatalf("list: %+v, %v", list, err)
	}
}

func enrolment(journey string, profile int64, due time.Time) *store.Enrolment {
	return &store.Enrolment{Journey: journey, Version: 1, Profile: profile, Status: "active", Step: "steps[0]",
		State: []byte(`{}`), DueAt: due, EnteredAt: t0, UpdatedAt: t0}
}

func testEnrolments(t *testing.T, s journeyStore) {
	ctx := context.Background()
	for _, id := range []string{"cart", "paused"} {
		if err := s.SaveJourney(ctx, &store.JourneyRecord{ID: id, Definition: []byte(`{}`), Status: "live", UpdatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	a := enrolment("cart", 7, t0.Add(time.Hour))
	b := enrolment("cart", 8, t0.Add(2*time.Hour))
	c := enrolment("cart", 9, time.Time{}) // waiting with no timer
	p := enrolment("paused", 7, t0)
	if err := s.ApplyJourneys(ctx, &store.JourneyBatch{Consumer: "journey", Checkpoint: 42, Insert: []*store.Enrolment{a, b, c, p}, At: t0}); err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || b.ID == 0 || a.ID == b.ID {
		t.Fatalf("ids not set: %d %d", a.ID, b.ID)
	}
	if cp, _ := s.Checkpoint(ctx, "journey"); cp != 42 {
		t.Fatalf("checkpoint %d, want 42", cp)
	}
	if err := s.SetJourneyStatus(ctx, "paused", "paused", t0); err != nil {
		t.Fatal(err)
	}
	// Nothing is due before its time; paused journeys' timers wait.
	got, err := s.ClaimDueEnrolments(ctx, t0.Add(30*time.Minute), "w1", time.Minute, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("claim before due: %d, %v", len(got), err)
	}
	got, err = s.ClaimDueEnrolments(ctx, t0.Add(3*time.Hour), "w1", time.Minute, 10)
	if err != nil || len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID || got[0].Step != "steps[0]" || !got[0].DueAt.Equal(a.DueAt.Truncate(time.Microsecond)) {
		t.Fatalf("claim: %+v, %v", got, err)
	}
	// Leased: not handed out again until the lease expires.
	if again, _ := s.ClaimDueEnrolments(ctx, t0.Add(3*time.Hour), "w2", time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed again while leased: %d", len(again))
	}
	// Another owner's release leaves w1's leases alone.
	if n, err := s.ReleaseEnrolmentLeases(ctx, "w2", t0.Add(3*time.Hour)); err != nil || n != 0 {
		t.Fatalf("w2 released %d of w1's leases, %v", n, err)
	}
	if again, _ := s.ClaimDueEnrolments(ctx, t0.Add(3*time.Hour), "w2", time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed after another owner's release: %d", len(again))
	}
	// w1 restarts and takes its leases back: due again at once, to anyone
	// (here w1 again), without waiting for the lease.
	if n, err := s.ReleaseEnrolmentLeases(ctx, "w1", t0.Add(3*time.Hour)); err != nil || n != 2 {
		t.Fatalf("w1 released %d leases, %v; want 2", n, err)
	}
	if back, _ := s.ClaimDueEnrolments(ctx, t0.Add(3*time.Hour), "w1", time.Minute, 10); len(back) != 2 {
		t.Fatalf("after the release, claimed %d; want both", len(back))
	}
	// w1 crashes: after the lease, w2 takes b.
	stolen, _ := s.ClaimDueEnrolments(ctx, t0.Add(3*time.Hour+2*time.Minute), "w2", time.Minute, 1)
	if len(stolen) != 1 || stolen[0].ID != a.ID {
		t.Fatalf("after lease expiry: %+v", stolen)
	}
	// w1's late write of a is refused (w2 holds it); its write of b, whose
	// lease nobody took, goes through.
	a.Step, a.DueAt, a.UpdatedAt = "steps[1]", time.Time{}, t0.Add(4*time.Hour)
	b.Status, b.Step, b.DueAt, b.EndedAt, b.Reason = "completed", "steps[1]", time.Time{}, t0.Add(4*time.Hour), "done"
	b.Profile, b.Version = 9, 2 // merged into 9, migrated to version 2
	if err := s.ApplyJourneys(ctx, &store.JourneyBatch{Update: []*store.Enrolment{a, b}, Owner: "w1", At: t0}); err != nil {
		t.Fatal(err)
	}
	if moved, _ := s.ProfileEnrolments(ctx, []int64{8}); len(moved) != 0 {
		t.Fatalf("profile 8 still has %d enrolments after the move to 9", len(moved))
	}
	all, err := s.ProfileEnrolments(ctx, []int64{7, 8, 9})
	if err != nil || len(all) != 4 {
		t.Fatalf("profile enrolments: %d, %v", len(all), err)
	}
	byID := map[int64]*store.Enrolment{}
	for _, e := range all {
		byID[e.ID] = e
	}
	if e := byID[a.ID]; e.Step != "steps[0]" {
		t.Fatalf("a was written by a worker that lost its lease: step %s", e.Step)
	}
	if e := byID[b.ID]; e.Status != "completed" || e.Reason != "done" || !e.DueAt.IsZero() || e.EndedAt.IsZero() || e.Profile != 9 || e.Version != 2 {
		t.Fatalf("b: %+v", e)
	}
	if e := byID[c.ID]; !e.DueAt.IsZero() || string(e.State) != `{}` {
		t.Fatalf("c: %+v", e)
	}
	page, err := s.ActiveEnrolments(ctx, "cart", 1, 0, 1)
	if err != nil || len(page) != 1 || page[0].ID != a.ID {
		t.Fatalf("active enrolments, first page: %+v, %v", page, err)
	}
	page, _ = s.ActiveEnrolments(ctx, "cart", 1, a.ID, 10)
	if len(page) != 1 || page[0].ID != c.ID {
		t.Fatalf("active enrolments, second page: %+v", page)
	}
	if page, _ = s.ActiveEnrolments(ctx, "cart", 2, 0, 10); len(page) != 0 {
		t.Fatalf("version 2 has no enrolments: %+v", page)
	}
	counts, err := s.EnrolmentCounts(ctx, "cart")
	if err != nil || counts["active"] != 2 || counts["completed"] != 1 {
		t.Fatalf("counts: %v, %v", counts, err)
	}
	if err := s.SetJourneyStatus(ctx, "cart", "archived", t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	counts, _ = s.EnrolmentCounts(ctx, "cart")
	if counts["active"] != 0 || counts["exited"] != 2 || counts["completed"] != 1 {
		t.Fatalf("after archive: %v", counts)
	}
}

func testConcurrentJourneyClaims(t *testing.T, s journeyStore) {
	ctx := context.Background()
	if err := s.SaveJourney(ctx, &store.JourneyRecord{ID: "j", Definition: []byte(`{}`), Status: "live", UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	const n = 400
	var batch []*store.Enrolment
	for i := range n {
		batch = append(batch, enrolment("j", int64(i+1), t0.Add(time.Duration(i)*time.Second)))
	}
	if err := s.ApplyJourneys(ctx, &store.JourneyBatch{Insert: batch, At: t0}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("w%d", w)
			for {
				got, err := s.ClaimDueEnrolments(ctx, t0.Add(time.Hour), owner, time.Hour, 7)
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, e := range got {
					if prev, dup := seen[e.ID]; dup {
						errs <- fmt.Errorf("enrolment %d handed to %s and %s", e.ID, prev, owner)
					}
					seen[e.ID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("claimed %d of %d", len(seen), n)
	}
}

func testJourneyStats(t *testing.T, s journeyStore) {
	ctx := context.Background()
	if err := s.SaveJourney(ctx, &store.JourneyRecord{ID: "ab", Definition: []byte(`{}`), Status: "live", UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var batch store.JourneyBatch
	for i := range 4 {
		en := enrolment("ab", int64(i+1), time.Time{})
		variant := []string{"a", "b"}[i%2]
		batch.Insert = append(batch.Insert, en)
		batch.Log = append(batch.Log,
			store.StepLog{Enrolment: en, Kind: "enter", Outcome: "entered", At: t0},
			store.StepLog{Enrolment: en, Step: "steps[0]", Kind: "split", Outcome: variant, At: t0})
		if variant == "a" {
			batch.Log = append(batch.Log, store.StepLog{Enrolment: en, Step: "steps[0].split.variants[0].steps[0]", Kind: "send", Outcome: "sent", Channel: "email", At: t0},
				store.StepLog{Enrolment: en, Kind: "goal", Outcome: "converted", At: t0})
		}
	}
	// The log of a new enrolment is written with it: ids are known then.
	if err := s.ApplyJourneys(ctx, &batch); err != nil {
		t.Fatal(err)
	}
	done := batch.Insert[0]
	done.Status, done.Reason, done.EndedAt = "exited", "exit_on[0]: Order Completed (event 12)", t0
	if err := s.ApplyJourneys(ctx, &store.JourneyBatch{Update: []*store.Enrolment{done},
		Log: []store.StepLog{{Enrolment: done, Kind: "exited", Outcome: "exit_on[0]: Order Completed", At: t0}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetJourneyStatus(ctx, "ab", "archived", t0); err != nil {
		t.Fatal(err)
	}
	st, err := s.JourneyStats(ctx, "ab")
	if err != nil {
		t.Fatal(err)
	}
	if st.Entered != 4 || st.Enrolments["exited"] != 4 || st.Handed["email"] != 2 {
		t.Fatalf("stats: %+v", st)
	}
	if st.Exits["exit_on[0]: Order Completed"] != 1 || st.Exits["journey archived"] != 3 {
		t.Fatalf("exits: %v", st.Exits)
	}
	want := []store.VariantCount{
		{Version: 1, Step: "steps[0]", Variant: "a", Status: "exited", Count: 2},
		{Version: 1, Step: "steps[0]", Variant: "b", Status: "exited", Count: 2},
	}
	if fmt.Sprint(st.Variants) != fmt.Sprint(want) {
		t.Fatalf("variants: %+v", st.Variants)
	}
	if st.Converted != 2 || st.ConversionRate != 0.5 || len(st.ABResults) != 2 {
		t.Fatalf("conversions: %d (%v), A/B %+v", st.Converted, st.ConversionRate, st.ABResults)
	}
	a, b := st.ABResults[0], st.ABResults[1]
	if a.Variant != "a" || a.Entered != 2 || a.Converted != 2 || a.ConversionRate != 1 || a.PValue != nil ||
		b.Variant != "b" || b.Entered != 2 || b.Converted != 0 || b.PValue == nil || math.Abs(*b.PValue-0.0455) > 0.0001 {
		t.Fatalf("A/B: %+v %+v", a, b)
	}
	var enter, split int64
	for _, c := range st.Steps {
		switch c.Kind {
		case "enter":
			enter += c.Count
		case "split":
			split += c.Count
		}
	}
	if enter != 4 || split != 4 {
		t.Fatalf("steps: %+v", st.Steps)
	}
}

// testJourneyStatsSent: a journey's sent messages are the ones a provider
// took, by the channel they went on; the ones deferred (quiet hours,
// caps), still queued or skipped (no consent) are counted apart.
func testJourneyStatsSent(t *testing.T, s journeyStore) {
	ctx := context.Background()
	// due: when a waiting message may go; zero for a skipped one.
	msg := func(journey, key, channel, status string, due time.Time) *store.OutboxMessage {
		return &store.OutboxMessage{SendKey: key, ProfileID: 1, Channel: channel, Campaign: journey, TemplateID: "t",
			Status: status, DueAt: due, CreatedAt: t0, UpdatedAt: t0}
	}
	later := t0.Add(time.Hour)
	ms := []*store.OutboxMessage{
		msg("ab", "journey:ab:v1:steps[0]:p1:e1", "email", store.MessageQueued, t0),
		msg("ab", "journey:ab:v1:steps[0]:p2:e2", "email", store.MessageDeferred, later),
		msg("ab", "journey:ab:v1:steps[1]:p1:e1", "sms", store.MessageSkipped, time.Time{}),
		msg("ab", "journey:ab:v1:steps[1]:p3:e3", "push", store.MessageQueued, t0),
		// Not the journey's: another journey whose id starts alike, an
		// API send naming the journey as its campaign.
		msg("abc", "journey:abc:v1:steps[0]:p1:e1", "email", store.MessageQueued, later),
		msg("ab", "api:promo-1", "email", store.MessageQueued, later),
	}
	if _, err := s.EnqueueMessages(ctx, ms); err != nil {
		t.Fatal(err)
	}
	// The due email and push go out; the rest waits or was skipped.
	claimed, err := s.ClaimMessages(ctx, "", "w", t0, time.Minute, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d, %v; want the 2 due", len(claimed), err)
	}
	var done []store.MessageUpdate
	for _, m := range claimed {
		done = append(done, store.MessageUpdate{ID: m.ID, LeaseToken: "w", Status: store.MessageSent, SentAt: t0, At: t0})
	}
	if _, err := s.FinishMessages(ctx, done); err != nil {
		t.Fatal(err)
	}
	st, err := s.JourneyStats(ctx, "ab")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(st.Sent) != "map[email:1 push:1]" {
		t.Fatalf("sent = %v, want the email and the push a provider took", st.Sent)
	}
	if st.Messages[store.MessageSkipped]["sms"] != 1 || st.Messages[store.MessageSent]["email"] != 1 {
		t.Fatalf("messages = %v", st.Messages)
	}
	var waiting int64
	for status, byChannel := range st.Messages {
		if status != store.MessageSent && status != store.MessageSkipped {
			for _, n := range byChannel {
				waiting += n
			}
		}
	}
	if waiting != 1 {
		t.Fatalf("messages = %v: want the deferred email alone still waiting", st.Messages)
	}
}
