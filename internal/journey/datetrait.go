package journey

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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

// fullDateLayouts are the forms a one-off date trait may take.
var fullDateLayouts = []string{"2006-01-02", time.RFC3339Nano, "2006-01-02T15:04:05", "02/01/2006"}

// parseFullDate reads a one-off date trait's day.
func parseFullDate(raw json.RawMessage) (time.Time, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil || s == "" {
		return time.Time{}, false
	}
	for _, l := range fullDateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
		}
	}
	return time.Time{}, false
}

// parseOffset reads a date_trait offset in whole days: "-7d", "+3d",
// "7d" (after), "0d"; "" is 0.
func parseOffset(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	sign, body := 1, s
	switch {
	case strings.HasPrefix(s, "-"):
		sign, body = -1, s[1:]
	case strings.HasPrefix(s, "+"):
		body = s[1:]
	}
	n, ok := strings.CutSuffix(body, "d")
	days, err := strconv.Atoi(n)
	if !ok || err != nil || days < 0 || days > 3660 {
		return 0, fmt.Errorf("%q is not a number of days like -7d, 0d or +3d", s)
	}
	return sign * days, nil
}

// dateTrait checks a date_trait trigger.
func dateTrait(dt *DateTrait, path string) error {
	if strings.TrimSpace(dt.Trait) == "" {
		return fail(path+".trait", "is required: the trait holding the date, like birthday")
	}
	if _, err := parseOffset(dt.Offset); err != nil {
		return fail(path+".offset", err.Error())
	}
	if dt.At != "" {
		if _, err := parseClock(dt.At); err != nil {
			return fail(path+".at", err.Error())
		}
	}
	if _, err := zone(dt.Zone); dt.Zone != "customer" && err != nil {
		return fail(path+".zone", fmt.Sprintf("%q: expected customer (the default), utc or an IANA zone like Europe/Paris", dt.Zone))
	}
	return nil
}

// next is the first entry at or after from for a customer whose trait
// holds raw, in loc: the instant and the occurrence (the date, with the
// year of the occurrence for anniversaries). ok is false when the trait
// holds no readable date, or a one-off date's entry has passed.
func (dt *DateTrait) next(raw json.RawMessage, from time.Time, loc *time.Location) (time.Time, string, bool) {
	days, _ := parseOffset(dt.Offset)
	var clock time.Duration
	if dt.At != "" {
		clock, _ = parseClock(dt.At)
	}
	h, m := int(clock/time.Hour), int(clock%time.Hour/time.Minute)
	entry := func(d time.Time) time.Time {
		return time.Date(d.Year(), d.Month(), d.Day()+days, h, m, 0, 0, loc).UTC()
	}
	if !dt.Anniversary {
		d, ok := parseFullDate(raw)
		if !ok {
			return time.Time{}, "", false
		}
		if t := entry(d); !t.Before(from) {
			return t, d.Format(time.DateOnly), true
		}
		return time.Time{}, "", false
	}
	month, day, ok := parseDateTrait(raw)
	if !ok {
		return time.Time{}, "", false
	}
	// The entry of a year's occurrence may fall in the year before (a
	// negative offset) or after, or years after (an offset of more than
	// a year): start early enough for the offset.
	for y := from.In(loc).Year() - 1 - max(days, 0)/365; ; y++ {
		d := day
		if month == time.February && day == 29 && time.Date(y, time.March, 0, 0, 0, 0, 0, time.UTC).Day() != 29 {
			d = 28
		}
		occ := time.Date(y, month, d, 0, 0, 0, 0, time.UTC)
		if t := entry(occ); !t.Before(from) {
			return t, occ.Format(time.DateOnly), true
		}
	}
}
