package event

import (
	"testing"
	"time"
)

func TestParseTimestamp(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
	}{
		{"2024-05-01T10:00:00Z", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-05-01T10:00:00.1Z", time.Date(2024, 5, 1, 10, 0, 0, 100_000_000, time.UTC)},
		{"2024-05-01T10:00:00.123Z", time.Date(2024, 5, 1, 10, 0, 0, 123_000_000, time.UTC)},
		{"2024-05-01T10:00:00.123456Z", time.Date(2024, 5, 1, 10, 0, 0, 123_456_000, time.UTC)},
		{"2024-05-01T10:00:00.123456789Z", time.Date(2024, 5, 1, 10, 0, 0, 123_456_789, time.UTC)},
		{"2024-05-01T10:00:00.1234567891234Z", time.Date(2024, 5, 1, 10, 0, 0, 123_456_789, time.UTC)},
		{"2024-05-01T12:00:00+02:00", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-05-01T05:00:00.5-0500", time.Date(2024, 5, 1, 10, 0, 0, 500_000_000, time.UTC)},
		{"2024-05-01T12:00:00+02", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-05-01 10:00:00Z", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-05-01t10:00:00z", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-05-01T10:00:00", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-05-01T10:00", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"2024-05-01T10:00:00,25Z", time.Date(2024, 5, 1, 10, 0, 0, 250_000_000, time.UTC)},
		{"2024-05-01", time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)},
		{"2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		got, err := ParseTimestamp(c.in)
		if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2024-13-01", "2023-02-29", "2024-05-01T25:00:00Z",
		"2024-05-01T10:00:00.Z", "2024-05-01T10:00:00+2", "2024-05-01T10:00:00Zjunk", "1714557600", "2024-5-1"} {
		if got, err := ParseTimestamp(bad); err == nil {
			t.Errorf("ParseTimestamp(%q) = %v, want an error", bad, got)
		}
	}
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2024-05-01T10:00:00.123+02:00", "2024-05-01", "2024-05-01 10:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTimestamp(s)
		if err != nil {
			return
		}
		// Whatever parses must survive a round trip through RFC 3339.
		back, err := ParseTimestamp(got.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(got) {
			t.Fatalf("%q parsed to %v, which does not round-trip (%v, %v)", s, got, back, err)
		}
	})
}
