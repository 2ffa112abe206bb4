package journey

import (
	"encoding/json"
	"time"
)

// dateLayouts are the forms a date trait may take: a full date or time
// (the year is ignored) or a month and day.
var dateLayouts = []string{"2006-01-02", time.RFC3339Nano, "2006-01-02T15:04:05", "01-02", "02/01/2006"}

// parseDateTrait reads a date trait's month and day.
func parseDateTrait(raw json.RawMessage) (time.Month, int, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil || s == "" {
		return 0, 0, false
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Month(), t.Day(), true
		}
	}
	return 0, 0, false
}

// nextYearly is the first instant at or after from that falls on month
// and day at the clock offset (time of day) in loc. A 29 February is
// kept on 28 February in the years without one.
func nextYearly(month time.Month, day int, clock time.Duration, from time.Time, loc *time.Location) time.Time {
	l := from.In(loc)
	h, m := int(clock/time.Hour), int(clock%time.Hour/time.Minute)
	for y := l.Year(); ; y++ {
		d := day
		if month == time.February && day == 29 && time.Date(y, time.March, 0, 0, 0, 0, 0, time.UTC).Day() != 29 {
			d = 28
		}
		if t := time.Date(y, month, d, h, m, 0, 0, loc); !t.Before(from) {
			return t.UTC()
		}
	}
}

// untilTrait is when a wait until a date trait ends for a customer; ok
// is false when they have no readable date in the trait.
func (r *runner) untilTrait(w *Wait, id int64, from time.Time, loc *time.Location) (time.Time, bool) {
	p := r.profiles[id]
	if p == nil {
		return time.Time{}, false
	}
	t, ok := p.Traits[w.UntilTrait]
	if !ok {
		return time.Time{}, false
	}
	month, day, ok := parseDateTrait(t.Value)
	if !ok {
		return time.Time{}, false
	}
	var clock time.Duration
	if w.Until != "" {
		clock, _ = parseClock(w.Until)
	}
	return nextYearly(month, day, clock, from, loc), true
}
