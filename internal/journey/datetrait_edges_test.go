package journey_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
)

// dateJourney is a journey entered on a date trait, as YAML.
func dateJourney(id, trigger string) string {
	return `
kind: journey
id: ` + id + `
name: Date
triggers:
  - date_trait: ` + trigger + `
steps:
  - send: {channel: email, template: ` + id + `}
`
}

// entries lists when a user entered and for which occurrence.
func (w *world) entries(user string) []string {
	w.t.Helper()
	var out []string
	for _, en := range w.enrolments(user) {
		out = append(out, en.EnteredAt.UTC().Format(time.RFC3339))
	}
	return out
}

// follow moves the clock from date timer to date timer up to until,
// ticking at each: enrolments are entered at their timer's instant.
func (w *world) follow(until time.Time) {
	w.t.Helper()
	for {
		next, err := w.eng.NextDateTimer(context.Background())
		if err != nil {
			w.t.Fatal(err)
		}
		if next.IsZero() || next.After(until) {
			break
		}
		if next.After(w.clk.Now()) {
			w.clk.Set(next)
		}
		w.tick()
	}
	w.clk.Set(until)
	w.tick()
}

// TestDateTraitEdges: time zones and DST, offsets crossing a year end,
// 29 February, and dates that cannot be read.
func TestDateTraitEdges(t *testing.T) {
	cases := []struct {
		name    string
		trigger string
		traits  map[string]any
		until   time.Time
		want    []string
	}{
		{"Paris spring-forward 02:30 is 03:30 CEST", `{trait: birthday, anniversary: true, at: "02:30"}`,
			map[string]any{"birthday": "1990-03-29", "timezone": "Europe/Paris"}, time.Date(2027, 3, 30, 0, 0, 0, 0, time.UTC),
			[]string{"2026-03-29T01:30:00Z", "2027-03-29T00:30:00Z"}},
		{"Paris fall-back 02:30 enters once", `{trait: birthday, anniversary: true, at: "02:30"}`,
			map[string]any{"birthday": "1990-10-25", "timezone": "Europe/Paris"}, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
			[]string{"2026-10-25T01:30:00Z"}},
		{"-7d before 2 January falls in December", `{trait: birthday, anniversary: true, offset: -7d, at: "10:00", zone: utc}`,
			map[string]any{"birthday": "1990-01-02"}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
			[]string{"2026-12-26T10:00:00Z"}},
		{"+7d after 30 December falls in January", `{trait: birthday, anniversary: true, offset: +7d, zone: utc}`,
			map[string]any{"birthday": "12-30"}, time.Date(2027, 1, 7, 0, 0, 0, 0, time.UTC),
			[]string{"2026-01-06T00:00:00Z", "2027-01-06T00:00:00Z"}},
		{"29 February on the 28th, and the 29th in a leap year", `{trait: birthday, anniversary: true, zone: utc}`,
			map[string]any{"birthday": "2000-02-29"}, time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC),
			[]string{"2026-02-28T00:00:00Z", "2027-02-28T00:00:00Z", "2028-02-29T00:00:00Z"}},
		{"a month 13 is no date", `{trait: birthday, anniversary: true, zone: utc}`,
			map[string]any{"birthday": "1990-13-45"}, time.Date(2027, 1, 6, 0, 0, 0, 0, time.UTC), nil},
		{"an empty string is no date", `{trait: birthday, anniversary: true, zone: utc}`,
			map[string]any{"birthday": ""}, time.Date(2027, 1, 6, 0, 0, 0, 0, time.UTC), nil},
		{"a number is no date", `{trait: birthday, anniversary: true, zone: utc}`,
			map[string]any{"birthday": 19900110}, time.Date(2027, 1, 6, 0, 0, 0, 0, time.UTC), nil},
		{"30 February is no date", `{trait: birthday, anniversary: true, zone: utc}`,
			map[string]any{"birthday": "02-30"}, time.Date(2027, 1, 6, 0, 0, 0, 0, time.UTC), nil},
		{"an offset longer than a year", `{trait: birthday, anniversary: true, offset: +800d, zone: utc}`,
			map[string]any{"birthday": "1990-03-01"}, time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC),
			[]string{"2026-05-10T00:00:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.apply(dateJourney("d", c.trigger))
			w.identify("alice", c.traits)
			w.follow(c.until)
			got := w.entries("alice")
			if len(got) != len(c.want) {
				t.Fatalf("entries = %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("entries = %v, want %v", got, c.want)
				}
			}
		})
	}
}

// TestDateTraitSetWhilePaused: a customer who gives their birthday while
// the journey is paused gets their timer, and enters once it is resumed;
// a date changed while paused moves the timer.
func TestDateTraitSetWhilePaused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.apply(birthdayJourney)
	w.tick() // timers set for the version
	w.identify("bob", map[string]any{"birthday": "1990-12-20", "timezone": "Europe/Paris"})
	if err := w.eng.SetStatus(ctx, "bday", journey.StatusPaused); err != nil {
		t.Fatal(err)
	}
	w.identify("alice", map[string]any{"birthday": "1990-03-20", "timezone": "Europe/Paris"})
	w.identify("bob", map[string]any{"birthday": "1990-03-20"}) // was 20 December
	w.tick()
	if err := w.eng.SetStatus(ctx, "bday", journey.StatusLive); err != nil {
		t.Fatal(err)
	}
	// 13 March 2026, 10:00 in Paris (09:00 UTC).
	w.follow(time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC))
	for _, u := range []string{"alice", "bob"} {
		if got := w.entries(u); len(got) != 1 || got[0] != "2026-03-13T09:00:00Z" {
			t.Errorf("%s entered %v, want once on 2026-03-13T09:00:00Z", u, got)
		}
	}
}

// TestDateTraitNewVersion: a new version that moves the instant (-7d to
// -3d) moves every customer's timer; one that moves it later on the day
// already entered does not enrol them twice for the occurrence.
func TestDateTraitNewVersion(t *testing.T) {
	w := newWorld(t)
	w.apply(dateJourney("d", `{trait: birthday, anniversary: true, offset: -7d, at: "10:00", zone: utc}`))
	w.identify("alice", map[string]any{"birthday": "1990-01-20"})
	w.identify("bob", map[string]any{"birthday": "1990-01-14"})
	w.tick()
	// Bob enters on 7 January 10:00 (v1); then v2 enters 3 days before.
	w.follow(time.Date(2026, 1, 7, 11, 0, 0, 0, time.UTC))
	w.apply(dateJourney("d", `{trait: birthday, anniversary: true, offset: -3d, at: "10:00", zone: utc}`))
	w.follow(time.Date(2026, 1, 18, 0, 0, 0, 0, time.UTC))
	if got := w.entries("alice"); len(got) != 1 || got[0] != "2026-01-17T10:00:00Z" {
		t.Errorf("alice entered %v, want once on 2026-01-17T10:00:00Z (v2's instant)", got)
	}
	if got := w.entries("bob"); len(got) != 1 || got[0] != "2026-01-07T10:00:00Z" {
		t.Errorf("bob entered %v, want once on 2026-01-07T10:00:00Z (v1), not again for the same birthday", got)
	}
}

// TestDateTraitChangedOrRemoved: a one-off date moved into the past and
// a birthday removed (null) enrol no one; a journey resumed after a long
// pause enters a customer once, late, not once per missed year.
func TestDateTraitChangedOrRemoved(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.apply(dateJourney("d", `{trait: birthday, anniversary: true, zone: utc}`))
	w.apply(dateJourney("renew", `{trait: ends_at, offset: -1d, zone: utc}`))
	w.identify("alice", map[string]any{"birthday": "1990-02-10", "ends_at": "2026-03-01"})
	w.identify("bob", map[string]any{"birthday": "1990-02-10"})
	w.identify("carl", map[string]any{"birthday": "1990-02-10"})
	w.tick()
	w.identify("alice", map[string]any{"birthday": nil, "ends_at": "2025-12-01"})
	w.follow(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	if got := w.enrolments("alice"); len(got) != 0 {
		t.Errorf("alice: %d enrolments, want none (birthday removed, end date moved into the past)", len(got))
	}
	if got := w.entries("bob"); len(got) != 1 {
		t.Errorf("bob entered %v, want once", got)
	}
	// Paused from before carl's 2027 birthday until after his 2029 one.
	w.follow(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	if err := w.eng.SetStatus(ctx, "d", journey.StatusPaused); err != nil {
		t.Fatal(err)
	}
	w.jump(time.Date(2029, 6, 1, 0, 0, 0, 0, time.UTC).Sub(t0))
	if err := w.eng.SetStatus(ctx, "d", journey.StatusLive); err != nil {
		t.Fatal(err)
	}
	w.tick()
	w.tick()
	if got := w.entries("carl"); len(got) != 2 || got[1] != "2029-06-01T00:00:00Z" {
		t.Errorf("carl entered %v, want 2026 and once late on resuming (2029-06-01)", got)
	}
}

// TestDateTraitArchivedThenSavedAgain: timers left by an archived
// journey do not fire months late when it is saved again: the new
// version enters customers at their next dates.
func TestDateTraitArchivedThenSavedAgain(t *testing.T) {
	for _, again := range []string{"saved again", "set live", "saved changed"} {
		t.Run(again, func(t *testing.T) { archivedThenLive(t, again) })
	}
}

func archivedThenLive(t *testing.T, again string) {
	w := newWorld(t)
	ctx := context.Background()
	src := dateJourney("d", `{trait: birthday, anniversary: true, at: "10:00", zone: utc}`)
	w.apply(src)
	w.identify("alice", map[string]any{"birthday": "1990-03-01"})
	w.tick()
	if err := w.eng.SetStatus(ctx, "d", journey.StatusArchived); err != nil {
		t.Fatal(err)
	}
	w.jump(time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC).Sub(t0))
	switch again {
	case "saved again":
		w.apply(src) // the same definition: the same version, live
	case "saved changed":
		w.apply(strings.Replace(src, "name: Date", "name: Birthday", 1)) // version 2
	case "set live":
		if err := w.eng.SetStatus(ctx, "d", journey.StatusLive); err != nil {
			t.Fatal(err)
		}
	}
	w.tick()
	w.tick()
	if got := w.entries("alice"); len(got) != 0 {
		t.Fatalf("alice entered %v in September for her March birthday, while the journey was archived", got)
	}
	w.follow(time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC))
	if got := w.entries("alice"); len(got) != 1 || got[0] != "2027-03-01T10:00:00Z" {
		t.Fatalf("alice entered %v, want once on 2027-03-01T10:00:00Z", got)
	}
}
