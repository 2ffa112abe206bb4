package journey_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/store"
)

const birthdayJourney = `
kind: journey
id: bday
name: Birthday
triggers:
  - date_trait: {trait: birthday, anniversary: true, offset: -7d, at: "10:00"}
steps:
  - send: {channel: email, template: bday}
`

// TestDateTraitEntersOncePerOccurrence: a customer enters seven days
// before their birthday at 10:00 in their zone, once per year (whatever
// the re-entry policy), and a timer fired twice (a crash before it moved
// on, a restart) enrols once.
func TestDateTraitEntersOncePerOccurrence(t *testing.T) {
	w := newWorld(t)
	w.apply(birthdayJourney)
	w.identify("alice", map[string]any{"birthday": "1990-01-20", "timezone": "Europe/Paris"})
	// 13 January, 10:00 in Paris: 09:00 UTC, t0 + 8 days.
	w.at(8*24*time.Hour - time.Minute)
	if got := w.enrolments("alice"); len(got) != 0 {
		t.Fatalf("entered before the instant: %+v", got)
	}
	w.at(8 * 24 * time.Hour)
	if got := w.templates("alice"); len(got) != 1 {
		t.Fatalf("sends at the instant = %v, want one", got)
	}
	// The timer fires again for the same occurrence (a crash between
	// the enrolment and the timer's move), on a restarted engine.
	ctx := context.Background()
	if err := w.st.SetDateTimers(ctx, []store.DateTimer{{Journey: "bday", Profile: w.profile("alice"),
		Due: t0.Add(8 * 24 * time.Hour), Occurrence: "2026-01-20"}}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	w.eng = w.engine(journey.Options{Sender: w.rec})
	w.identify("alice", map[string]any{"birthday": "1990-01-20"}) // the same date again
	w.at(9 * 24 * time.Hour)
	if got := w.enrolments("alice"); len(got) != 1 {
		t.Fatalf("enrolments after the timer fired twice = %d, want 1", len(got))
	}
	// Next year: a second enrolment, though re_entry is once.
	w.jump(373 * 24 * time.Hour)
	got := w.enrolments("alice")
	if len(got) != 2 || !got[1].EnteredAt.Equal(time.Date(2027, 1, 13, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("enrolments a year on = %+v, want a second one on 2027-01-13 09:00 UTC", got)
	}
}

// TestDateTraitOneOffAndBackfill: a one-off date (the end of a
// subscription) enrols once, N days after; customers known before the
// journey was saved get their timer too; a date already passed enrols
// no one.
func TestDateTraitOneOffAndBackfill(t *testing.T) {
	w := newWorld(t)
	w.identify("bob", map[string]any{"subscription_ends_at": "2026-01-10T00:00:00Z"})
	w.identify("carl", map[string]any{"subscription_ends_at": "2025-12-01"})
	w.apply(`
kind: journey
id: renew
name: Renew
triggers:
  - date_trait: {trait: subscription_ends_at, offset: +2d, at: "08:30", zone: utc}
steps:
  - send: {channel: email, template: renew}
`)
	w.at(7*24*time.Hour + 23*time.Hour)
	if got := w.enrolments("bob"); len(got) != 1 || !got[0].EnteredAt.Equal(time.Date(2026, 1, 12, 8, 30, 0, 0, time.UTC)) {
		t.Fatalf("bob = %+v, want one enrolment on 12 January 08:30", got)
	}
	w.jump(400 * 24 * time.Hour)
	if got := w.enrolments("bob"); len(got) != 1 {
		t.Fatalf("bob enrolled %d times for a one-off date", len(got))
	}
	if got := w.enrolments("carl"); len(got) != 0 {
		t.Fatalf("carl's date had passed: %+v", got)
	}
}

// jump moves the clock at once (no tick on the way) and fires what is
// due.
func (w *world) jump(d time.Duration) {
	w.t.Helper()
	w.clk.Set(t0.Add(d))
	w.tick()
}

// TestDateTraitDueTimerSurvivesAnIdentify: an identify read after the
// instant but before the tick (a server back from a stop) does not skip
// the occurrence; a date changed before its instant moves the timer.
func TestDateTraitDueTimerSurvivesAnIdentify(t *testing.T) {
	w := newWorld(t)
	w.apply(birthdayJourney)
	w.identify("alice", map[string]any{"birthday": "1990-01-20", "timezone": "Europe/Paris"})
	w.identify("bob", map[string]any{"birthday": "1990-01-20", "timezone": "Europe/Paris"})
	w.tick()
	w.identify("bob", map[string]any{"birthday": "1990-02-20"}) // before his instant: moved to 13 February
	w.clk.Set(t0.Add(10 * 24 * time.Hour))                      // two days past alice's instant, no tick
	w.identify("alice", map[string]any{"city": "Lyon"})
	w.tick()
	if got := w.enrolments("alice"); len(got) != 1 {
		t.Fatalf("alice: %d enrolments, want the one of 2026-01-20, late", len(got))
	}
	if got := w.enrolments("bob"); len(got) != 0 {
		t.Fatalf("bob entered for a birthday he changed: %+v", got)
	}
	w.jump(39 * 24 * time.Hour) // 13 February, 09:00 UTC
	if got := w.enrolments("bob"); len(got) != 1 {
		t.Fatalf("bob: %d enrolments on 13 February, want 1", len(got))
	}
}

// TestDateTraitAfterAMerge: a birthday given by an anonymous visitor
// reaches the customer's profile when the visitor logs in (a merge), and
// the customer enters on that date.
func TestDateTraitAfterAMerge(t *testing.T) {
	w := newWorld(t)
	w.apply(birthdayJourney)
	w.identify("zoe", map[string]any{"email": "zoe@example.fr", "timezone": "Europe/Paris"})
	b, _ := json.Marshal(map[string]any{"birthday": "1990-01-20"})
	w.log(&event.Event{Type: event.Identify, AnonymousID: "anon-7", Traits: b})
	// The visitor logs in: the anonymous profile merges into Zoé's.
	w.log(&event.Event{Type: event.Track, Event: "Signed In", UserID: "zoe", AnonymousID: "anon-7"})
	w.at(8 * 24 * time.Hour)
	if got := w.templates("zoe"); len(got) != 1 {
		t.Fatalf("sends on the birthday timer after the merge = %v, want one", got)
	}
}
