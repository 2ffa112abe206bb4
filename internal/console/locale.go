package console

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// locale is the language a page is shown in, with its formats: French
// (the brand's staff first) or English.
type locale struct {
	Lang string // "fr" or "en"
	zone *time.Location
}

// localeOf picks the language: the switch's cookie, else the browser's
// Accept-Language (the first of fr and en it names), else French.
func (c *Console) localeOf(r *http.Request) locale {
	l := locale{Lang: "fr", zone: c.opts.Zone}
	if ck, err := r.Cookie(langCookie); err == nil && (ck.Value == "fr" || ck.Value == "en") {
		l.Lang = ck.Value
		return l
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch lang, _, _ := strings.Cut(strings.ToLower(tag), "-"); lang {
		case "fr", "en":
			l.Lang = lang
			return l
		}
	}
	return l
}

// T translates a message key; a key without a translation shows itself,
// so a missing one is visible, not blank.
func (l locale) T(key string) string {
	if m, ok := messages[key]; ok {
		if l.Lang == "en" {
			return m[1]
		}
		return m[0]
	}
	return key
}

// Number formats v with the given decimals: 12 345,6 in French (narrow
// no-break space between thousands), 12,345.6 in English.
func (l locale) Number(v float64, decimals int) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	whole, frac, _ := strings.Cut(s, ".")
	sep, dec := ",", "."
	if l.Lang == "fr" {
		sep, dec = "\u202f", ","
	}
	var b strings.Builder
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(d)
	}
	if frac != "" {
		b.WriteString(dec + frac)
	}
	return b.String()
}

// Int formats a count.
func (l locale) Int(v any) string {
	switch n := v.(type) {
	case int:
		return l.Number(float64(n), 0)
	case int64:
		return l.Number(float64(n), 0)
	case float64:
		return l.Number(n, 0)
	}
	return ""
}

// Money formats an amount in euros: 1 234,50 € or €1,234.50.
func (l locale) Money(v float64) string {
	if l.Lang == "fr" {
		return l.Number(v, 2) + "\u00a0€"
	}
	if v < 0 {
		return "-€" + l.Number(-v, 2)
	}
	return "€" + l.Number(v, 2)
}

// Percent formats a ratio (0.123 → 12,3 %).
func (l locale) Percent(v float64) string {
	if l.Lang == "fr" {
		return l.Number(v*100, 1) + "\u00a0%"
	}
	return l.Number(v*100, 1) + "%"
}

var months = [2][12]string{
	{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."},
	{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
}

// Date formats a day: 2 déc. 2026, Dec 2, 2026.
func (l locale) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(l.zone)
	if l.Lang == "fr" {
		return strconv.Itoa(t.Day()) + " " + months[0][t.Month()-1] + " " + strconv.Itoa(t.Year())
	}
	return months[1][t.Month()-1] + " " + strconv.Itoa(t.Day()) + ", " + strconv.Itoa(t.Year())
}

// Time formats an instant in the brand's time zone, and names the zone:
// 2 déc. 2026 14:38 CET; Dec 2, 2026, 2:38 PM CET.
func (l locale) Time(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(l.zone)
	if l.Lang == "fr" {
		return l.Date(t) + " " + t.Format("15:04 MST")
	}
	return l.Date(t) + ", " + t.Format("3:04 PM MST")
}

// Day formats a YYYY-MM-DD date string.
func (l locale) Day(s string) string {
	t, err := time.ParseInLocation(time.DateOnly, s, l.zone)
	if err != nil {
		return s
	}
	return l.Date(t)
}

// Zone names the time zone dates are shown in.
func (l locale) Zone() string { return l.zone.String() }

// ShortDay formats a YYYY-MM-DD date string without its year, for a
// chart's axis: 3 nov., Nov 3.
func (l locale) ShortDay(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	if l.Lang == "fr" {
		return strconv.Itoa(t.Day()) + " " + months[0][t.Month()-1]
	}
	return months[1][t.Month()-1] + " " + strconv.Itoa(t.Day())
}

// Value formats a trait's value for reading: instants in the brand's
// zone, lists joined, numbers per locale, the rest as JSON.
func (l locale) Value(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil && len(x) >= 20 {
			return l.Time(t)
		}
		return x
	case float64:
		if x == math.Trunc(x) {
			return l.Number(x, 0)
		}
		return l.Number(x, 2)
	case bool:
		if x {
			return l.T("yes")
		}
		return l.T("no")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = l.Value(e)
		}
		return strings.Join(parts, ", ")
	}
	return jsonString(v)
}
