package journey

import (
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// History never messages anyone. An event is history for a freshness
// window when it was stored by an import, or when it was received more
// than the window after it happened (event.Event.Historical: measured
// against its receive time, not the engine's clock, so a replay or a
// server catching up after an outage decides as the live server did); a
// Segment Entered/Exited is history when the segment stage says so (its
// historical property: caused by history alone). History updates
// profiles, segments and timelines, and counts for goals; it never enrols
// anyone and never wakes a wait_for; it ends an enrolment (exit_on) only
// when it happened at or after the enrolment's entry.

// maxAge is the trigger's freshness window.
func (t *Trigger) maxAge() time.Duration {
	if t.MaxAge != nil {
		return time.Duration(*t.MaxAge)
	}
	return event.DefaultMaxAge
}

// maxAge is the wait_for's freshness window.
func (w *WaitFor) maxAge() time.Duration {
	if w.MaxAge != nil {
		return time.Duration(*w.MaxAge)
	}
	return event.DefaultMaxAge
}

// history says whether s is history for a freshness window of maxAge.
func (s *seen) history(maxAge time.Duration) bool {
	if s.segment != "" {
		// The segment stage judged the cause; the announcement's own
		// times are the stage's.
		return s.e.Imported || s.historical
	}
	return s.e.Historical(maxAge)
}

// historyWhy says why s is history, for traces.
func (s *seen) historyWhy(maxAge time.Duration) string {
	switch {
	case s.e.Imported:
		return "history: imported"
	case s.segment != "":
		return "history: the segment change was caused by history (an import, an old event, a backfill)"
	case s.e.Timestamp.IsZero():
		return "history: no event time"
	}
	return "history: happened " + human(s.e.Age()) + " before it was received (max_age " + human(maxAge) + ")"
}

// exits says whether s, matching an exit_on of en, ends it: a live event
// always does; history only when it happened at or after the entry (the
// time of the event that enrolled the customer, if earlier than the entry
// itself). Lock should be held.
func exits(s *seen, en *store.Enrolment) bool {
	if !s.history(event.DefaultMaxAge) {
		return true
	}
	since := en.EnteredAt
	if t := readState(en).Trigger; t != nil && !t.At.IsZero() && t.At.Before(since) {
		since = t.At
	}
	return !s.e.Timestamp.Before(since)
}
