package measure

import (
	"fmt"
	"time"
)

// A day is a local date in the brand's time zone, counted in days from
// 1970-01-01: rollups are kept per day, and a report's range is whole days.

const secondsPerDay = 86400

// dayOf returns the local date of t in loc.
func dayOf(t time.Time, loc *time.Location) int32 {
	y, m, d := t.In(loc).Date()
	return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / secondsPerDay)
}

// dayStart returns the instant day d starts in loc (its local midnight, or
// the first instant after it on a day that skips midnight).
func dayStart(d int32, loc *time.Location) time.Time {
	t := time.Unix(int64(d)*secondsPerDay, 0).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// dayString writes day d as 2006-01-02 (a report writes thousands: no
// time.Format).
func dayString(d int32) string {
	y, m, dd := time.Unix(int64(d)*secondsPerDay, 0).UTC().Date()
	if y < 0 || y > 9999 {
		return time.Unix(int64(d)*secondsPerDay, 0).UTC().Format(time.DateOnly)
	}
	b := [10]byte{byte('0' + y/1000), byte('0' + y/100%10), byte('0' + y/10%10), byte('0' + y%10), '-',
		byte('0' + int(m)/10), byte('0' + int(m)%10), '-', byte('0' + dd/10), byte('0' + dd%10)}
	return string(b[:])
}

// parseDay reads a date written 2006-01-02.
func parseDay(s string) (int32, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a date like 2025-01-31", s)
	}
	return int32(t.Unix() / secondsPerDay), nil
}

// LoadZone returns the time zone named (an IANA name like Europe/Paris, or
// UTC), with an error that says how to write one.
func LoadZone(name string) (*time.Location, error) {
	if name == "" {
		name = "UTC"
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w (write an IANA name such as Europe/Paris or UTC)", name, err)
	}
	return loc, nil
}
