package event

import (
	"errors"
	"strconv"
	"time"
)

var errBadTimestamp = errors.New("not an ISO-8601 date-time")

// ParseTimestamp parses the ISO-8601 date-times that real clients send:
//
//	2024-05-01T10:00:00Z
//	2024-05-01T10:00:00.123456789+02:00   any number of fractional digits
//	2024-05-01T10:00:00.1-0500            offset without a colon
//	2024-05-01T10:00:00+02                offset in hours
//	2024-05-01 10:00:00Z                  space instead of T
//	2024-05-01T10:00:00                   no offset: UTC
//	2024-05-01                            a date alone: midnight UTC
//
// The result is in UTC.
func ParseTimestamp(s string) (time.Time, error) {
	p := tsParser{s: s}
	t, err := p.parse()
	if err != nil {
		return time.Time{}, err
	}
	// Years outside 1-9999 once in UTC cannot be written back as RFC 3339.
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return time.Time{}, errBadTimestamp
	}
	return t.UTC(), nil
}

type tsParser struct {
	s string
	i int
}

func (p *tsParser) parse() (time.Time, error) {
	year, ok := p.digits(4)
	if !ok || !p.byte('-') {
		return time.Time{}, errBadTimestamp
	}
	month, ok := p.digits(2)
	if !ok || !p.byte('-') {
		return time.Time{}, errBadTimestamp
	}
	day, ok := p.digits(2)
	if !ok {
		return time.Time{}, errBadTimestamp
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return time.Time{}, errBadTimestamp
	}
	if p.i == len(p.s) {
		return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), nil
	}
	if !p.byte('T') && !p.byte('t') && !p.byte(' ') {
		return time.Time{}, errBadTimestamp
	}
	hour, ok := p.digits(2)
	if !ok || !p.byte(':') {
		return time.Time{}, errBadTimestamp
	}
	minute, ok := p.digits(2)
	if !ok {
		return time.Time{}, errBadTimestamp
	}
	sec := 0
	if p.byte(':') {
		if sec, ok = p.digits(2); !ok {
			return time.Time{}, errBadTimestamp
		}
	}
	// A leap second (:60) is folded into the next second by time.Date.
	if hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, errBadTimestamp
	}
	nsec := 0
	if p.byte('.') || p.byte(',') {
		start := p.i
		scale := 100_000_000
		for p.i < len(p.s) && isDigit(p.s[p.i]) {
			// Digits past nanoseconds are read and ignored.
			nsec += int(p.s[p.i]-'0') * scale
			scale /= 10
			p.i++
		}
		if p.i == start {
			return time.Time{}, errBadTimestamp
		}
	}
	loc := time.UTC
	if p.i < len(p.s) {
		switch c := p.s[p.i]; c {
		case 'Z', 'z':
			p.i++
		case '+', '-':
			p.i++
			oh, ok := p.digits(2)
			if !ok {
				return time.Time{}, errBadTimestamp
			}
			om := 0
			if p.byte(':') {
				if om, ok = p.digits(2); !ok {
					return time.Time{}, errBadTimestamp
				}
			} else if p.i < len(p.s) {
				if om, ok = p.digits(2); !ok {
					return time.Time{}, errBadTimestamp
				}
			}
			if oh > 23 || om > 59 {
				return time.Time{}, errBadTimestamp
			}
			off := oh*3600 + om*60
			if c == '-' {
				off = -off
			}
			loc = time.FixedZone("", off)
		default:
			return time.Time{}, errBadTimestamp
		}
	}
	if p.i != len(p.s) {
		return time.Time{}, errBadTimestamp
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), nil
}

func (p *tsParser) byte(b byte) bool {
	if p.i < len(p.s) && p.s[p.i] == b {
		p.i++
		return true
	}
	return false
}

func (p *tsParser) digits(n int) (int, bool) {
	if p.i+n > len(p.s) {
		return 0, false
	}
	v, err := strconv.Atoi(p.s[p.i : p.i+n])
	if err != nil || !allDigits(p.s[p.i:p.i+n]) {
		return 0, false
	}
	p.i += n
	return v, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
