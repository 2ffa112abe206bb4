package journey

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// A date_trait trigger keeps one durable timer per customer (the store's
// journey_date_timers): the instant they enter next and the occurrence it
// is for. Timers are set when a journey is first seen (one pass over the
// profiles per new version, not a daily scan) and whenever an identify
// changes a customer's traits; a tick enters the customers whose timer is
// due, then sets their next one. The enrolment records its occurrence, so
// a timer fired twice (a crash before the timer moved on) enrols once.

// dateTriggers lists a program's date_trait triggers by index.
func (p *program) dateTriggers() []int {
	var out []int
	for i, t := range p.def.Triggers {
		if t.DateTrait != nil {
			out = append(out, i)
		}
	}
	return out
}

// dateZone is where a date_trait's time of day is read for a customer.
func dateZone(dt *DateTrait, p *profile.Profile) *time.Location {
	if dt.Zone == "" || dt.Zone == "customer" {
		var name string
		if p != nil {
			if t, ok := p.Traits["timezone"]; ok {
				_ = json.Unmarshal(t.Value, &name)
			}
		}
		if loc, err := zone(name); err == nil {
			return loc
		}
		return time.UTC
	}
	loc, err := zone(dt.Zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// dateTimer is a customer's next entry by trigger i of p, from from; a
// zero Due when there is none (no date, a one-off date passed).
func dateTimer(p *program, i int, prof *profile.Profile, from time.Time) store.DateTimer {
	dt := p.def.Triggers[i].DateTrait
	t := store.DateTimer{Journey: p.def.ID, Trigger: i, Profile: prof.ID}
	raw, ok := prof.Traits[dt.Trait]
	if !ok {
		return t
	}
	if due, occ, ok := dt.next(raw.Value, from, dateZone(dt, prof)); ok {
		t.Due, t.Occurrence = due, occ
	}
	return t
}

// setDateTimers sets the date timers of profiles for every live or
// paused journey with a date_trait trigger. Lock should be held.
func (e *Engine) setDateTimers(ctx context.Context, profiles map[int64]*profile.Profile, now time.Time) error {
	var ts []store.DateTimer
	for _, id := range e.sortedKept() {
		p := e.latest[id]
		for _, i := range p.dateTriggers() {
			for _, prof := range profiles {
				ts = append(ts, dateTimer(p, i, prof, now))
			}
		}
	}
	// A timer already due is left to the tick, which checks it against
	// the customer's traits then: an identify read before the tick (the
	// server was down) does not skip this year's occurrence.
	return e.st.SetDateTimers(ctx, ts, now)
}

// sortedKept lists the live and paused journeys' ids in order: a paused
// journey's date timers wait, but are kept up to date with the traits
// (a birthday given while it is paused), so that resuming it enters the
// customers on their dates. Lock should be held.
func (e *Engine) sortedKept() []string {
	ids := slices.Collect(maps.Keys(e.latest))
	slices.Sort(ids)
	return ids
}

// hasDateTriggers says whether a live or paused journey has a date_trait
// trigger. Lock should be held.
func (e *Engine) hasDateTriggers() bool {
	for _, id := range e.sortedKept() {
		if len(e.latest[id].dateTriggers()) > 0 {
			return true
		}
	}
	return false
}

// traitChanges lists the profiles whose traits a batch of events may have
// set, when a live journey has a date_trait trigger: identify calls, and
// merges (the surviving profile takes the merged one's traits: a birthday
// given before the customer logged in). Lock should be held.
func (e *Engine) traitChanges(events []*event.Event, owners []int64) []int64 {
	if !e.hasDateTriggers() {
		return nil
	}
	var ids []int64
	for i, ev := range events {
		if owners[i] == 0 {
			continue
		}
		identify := ev.Type == event.Identify && len(ev.Traits) > 0
		merged := ev.Channel == profile.InternalChannel && (ev.Event == unify.EventProfileMerged || ev.Event == unify.EventTraitsChanged)
		if identify || merged {
			ids = append(ids, owners[i])
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// dateCheckpoint remembers the version of a journey whose date timers were
// set for every profile.
func dateCheckpoint(journey string) string { return "journey-date-timers:" + journey }

// archivedDates is the date checkpoint of an archived journey: when it is
// live again, every timer is set anew, the due ones too (they were due
// while it was archived and are not fired late).
const archivedDates = -1

// backfillDates sets the date timers of every profile for the live and
// paused journeys whose latest version has not had it: once per version.
// Lock should be held.
func (e *Engine) backfillDates(ctx context.Context) error {
	now := e.o.Clock.Now()
	for _, id := range e.sortedKept() {
		p := e.latest[id]
		triggers := p.dateTriggers()
		if len(triggers) == 0 {
			continue
		}
		done, err := e.st.Checkpoint(ctx, dateCheckpoint(id))
		if err != nil {
			return err
		}
		if done >= int64(p.version) {
			continue
		}
		keep := now
		if done == archivedDates {
			keep = time.Time{}
		}
		var after int64
		for {
			page, err := e.st.ListProfiles(ctx, after, 1000)
			if err != nil {
				return fmt.Errorf("journey: date timers of %s: %w", id, err)
			}
			var ts []store.DateTimer
			for _, prof := range page {
				for _, i := range triggers {
					ts = append(ts, dateTimer(p, i, prof, now))
				}
				after = prof.ID
			}
			if err := e.st.SetDateTimers(ctx, ts, keep); err != nil {
				return err
			}
			if len(page) < 1000 {
				break
			}
		}
		if err := e.st.SaveCheckpoint(ctx, dateCheckpoint(id), int64(p.version)); err != nil {
			return err
		}
	}
	return nil
}

// runDateTimers enrols the customers whose date timer is due, then sets
// their next timer. Lock should be held.
func (e *Engine) runDateTimers(ctx context.Context) error {
	if err := e.backfillDates(ctx); err != nil {
		return err
	}
	const page = 500
	for {
		now := e.o.Clock.Now()
		due, err := e.st.DueDateTimers(ctx, now, page)
		if err != nil || len(due) == 0 {
			return err
		}
		ids := make([]int64, 0, len(due))
		for _, t := range due {
			ids = append(ids, t.Profile)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		b, err := e.begin(ctx, ids)
		if err != nil {
			return err
		}
		if b.profiles, b.segs, err = e.loadProfiles(ctx, ids); err != nil {
			return err
		}
		next := make([]store.DateTimer, 0, len(due))
		for _, t := range due {
			p := e.latest[t.Journey]
			if p == nil || t.Trigger >= len(p.def.Triggers) || p.def.Triggers[t.Trigger].DateTrait == nil {
				next = append(next, store.DateTimer{Journey: t.Journey, Trigger: t.Trigger, Profile: t.Profile}) // gone: drop it
				continue
			}
			prof := b.profiles[t.Profile]
			if prof == nil {
				prof = profile.New(t.Profile)
			}
			// The traits may have changed since the timer was set (a new
			// date, another zone): enter only if they still give this
			// instant, else set the timer they give now.
			if cur := dateTimer(p, t.Trigger, prof, t.Due); !cur.Due.Equal(t.Due) || cur.Occurrence != t.Occurrence {
				next = append(next, dateTimer(p, t.Trigger, prof, now))
				continue
			}
			e.enterOn(b, p, t)
			// The next occurrence after this one, or after now when this
			// one fired late: a journey resumed (or a server back) after
			// a year or more enters the customer once, not once per
			// missed year.
			from := t.Due.Add(time.Second)
			if now.After(from) {
				from = now
			}
			next = append(next, dateTimer(p, t.Trigger, prof, from))
		}
		// The enrolments first: a crash before the timers move on fires
		// them again, and the occurrence keeps it to one enrolment.
		if err := e.st.ApplyJourneys(ctx, b.write("", 0)); err != nil {
			return err
		}
		if err := e.st.SetDateTimers(ctx, next, time.Time{}); err != nil {
			return err
		}
		if len(b.inserts) > 0 {
			e.Wake()
		}
		if len(due) < page {
			return nil
		}
	}
}

// enterOn enrols a customer for one occurrence of a date trait: once per
// occurrence, whatever the re-entry policy (never twice at once). Lock
// should be held.
func (e *Engine) enterOn(b *batch, p *program, t store.DateTimer) {
	dt := p.def.Triggers[t.Trigger].DateTrait
	why := fmt.Sprintf("date_trait: %s %s", dt.Trait, t.Occurrence)
	if dt.Offset != "" && dt.Offset != "0d" {
		why += " " + dt.Offset
	}
	for _, en := range b.byProf[t.Profile] {
		if en.Journey == p.def.ID && readState(en).Occurrence == t.Occurrence {
			e.trace(TraceEntry{At: b.now, Journey: p.def.ID, Version: p.version, Profile: t.Profile, Kind: "enter",
				What: "not entered", Why: "already entered for " + t.Occurrence})
			return
		}
	}
	b.occurrence = t.Occurrence
	defer func() { b.occurrence = "" }()
	if _, refused := e.enter(b, p, t.Profile, why, nil); refused != "" {
		e.trace(TraceEntry{At: b.now, Journey: p.def.ID, Version: p.version, Profile: t.Profile, Kind: "enter",
			What: "not entered", Why: refused})
	}
}

// NextDateTimer returns the earliest date timer of a live journey after
// now (zero if none): the simulator stops its clock there.
func (e *Engine) NextDateTimer(ctx context.Context) (time.Time, error) {
	due, err := e.st.DueDateTimers(ctx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1)
	if err != nil || len(due) == 0 {
		return time.Time{}, err
	}
	return due[0].Due, nil
}
