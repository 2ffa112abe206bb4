package journey

import (
	"encoding/json"
	"testing"
	"time"
)

// TestDateTraitNext: the next entry of an anniversary, a negative offset
// reaching into the year before, 29 February on the 28th in other years.
func TestDateTraitNext(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, c := range []struct {
		name     string
		dt       DateTrait
		raw      string
		from     time.Time
		loc      *time.Location
		due, occ string
	}{
		{"birthday later this year", DateTrait{Trait: "b", Anniversary: true, Offset: "-3d", At: "10:00"}, `"1990-06-10"`,
			time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), paris, "2026-06-07T08:00:00Z", "2026-06-10"},
		{"the offset reaches into the year before", DateTrait{Trait: "b", Anniversary: true, Offset: "-7d"}, `"01-03"`,
			time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC), time.UTC, "2026-12-27T00:00:00Z", "2027-01-03"},
		{"29 February in a common year", DateTrait{Trait: "b", Anniversary: true}, `"2000-02-29"`,
			time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC, "2027-02-28T00:00:00Z", "2027-02-28"},
		{"29 February in a leap year", DateTrait{Trait: "b", Anniversary: true}, `"2000-02-29"`,
			time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC, "2028-02-29T00:00:00Z", "2028-02-29"},
		{"today at the time itself", DateTrait{Trait: "b", Anniversary: true, At: "09:00"}, `"10/01/1980"`,
			time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC), time.UTC, "2026-01-10T09:00:00Z", "2026-01-10"},
		{"one-off, after", DateTrait{Trait: "ends", Offset: "+30d"}, `"2026-02-01T12:00:00Z"`,
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC, "2026-03-03T00:00:00Z", "2026-02-01"},
		{"one-off, passed", DateTrait{Trait: "ends"}, `"2025-02-01"`,
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC, "", ""},
		{"no date", DateTrait{Trait: "b", Anniversary: true}, `"soon"`,
			time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.UTC, "", ""},
	} {
		due, occ, ok := c.dt.next(json.RawMessage(c.raw), c.from, c.loc)
		got := ""
		if ok {
			got = due.Format(time.RFC3339)
		}
		if got != c.due || occ != c.occ {
			t.Errorf("%s: next = %q (%s), want %q (%s)", c.name, got, occ, c.due, c.occ)
		}
	}
}
