package event

import "time"

// DefaultMaxAge is how old an event may be when Parcours receives it and
// still be news: a journey trigger's freshness window when it sets none,
// and the window the segment stage uses to tell whether a membership
// change was caused by history.
const DefaultMaxAge = 24 * time.Hour

// Age is how old the event was when Parcours received it: ReceivedAt minus
// Timestamp (0 when the timestamp is later, or either is unknown).
//
// It is measured against the receive time, never against the clock of the
// stage reading the event, so that a replay of the log, or a server
// catching up after an outage, classifies every event as it was classified
// when it arrived.
func (e *Event) Age() time.Duration {
	if e.ReceivedAt.IsZero() {
		return 0
	}
	if e.Timestamp.IsZero() {
		// No event time at all (0001-01-01): nothing says it is news.
		return time.Duration(1<<63 - 1)
	}
	if d := e.ReceivedAt.Sub(e.Timestamp); d > 0 {
		return d
	}
	return 0
}

// Historical reports whether the event is history for a freshness window
// of maxAge: stored by an import, or older than maxAge when it was
// received. History updates profiles, segments and timelines, but never
// enrols anyone in a journey.
func (e *Event) Historical(maxAge time.Duration) bool {
	return e.Imported || e.Age() > maxAge
}
