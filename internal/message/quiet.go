package message

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // customers' time zones, whatever the host has installed

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/profile"
)

// QuietHours is the part of the customer's day marketing messages wait
// out, e.g. 21:00 to 08:00.
type QuietHours struct {
	Start string `json:"start" yaml:"start"` // "21:00"
	End   string `json:"end" yaml:"end"`     // "08:00"
	// Channels it applies to; empty: all but webhook.
	Channels []provider.Channel `json:"channels,omitempty" yaml:"channels"`
}

// minutes parses "HH:MM" into minutes after midnight.
func minutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("quiet hours: %q is not HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Validate checks the hours.
func (q *QuietHours) Validate() error {
	if _, err := minutes(q.Start); err != nil {
		return err
	}
	_, err := minutes(q.End)
	return err
}

// countryZones gives a country's time zone when the customer's own is
// unknown (for countries with several, the most populous one's).
var countryZones = map[string]string{
	"FR": "Europe/Paris", "BE": "Europe/Brussels", "CH": "Europe/Zurich", "LU": "Europe/Luxembourg",
	"MC": "Europe/Monaco", "DE": "Europe/Berlin", "ES": "Europe/Madrid", "IT": "Europe/Rome", "NL": "Europe/Amsterdam",
	"PT": "Europe/Lisbon", "GB": "Europe/London", "UK": "Europe/London", "IE": "Europe/Dublin", "AT": "Europe/Vienna",
	"PL": "Europe/Warsaw", "SE": "Europe/Stockholm", "DK": "Europe/Copenhagen", "NO": "Europe/Oslo", "FI": "Europe/Helsinki",
	"GR": "Europe/Athens", "MA": "Africa/Casablanca", "TN": "Africa/Tunis", "DZ": "Africa/Algiers", "SN": "Africa/Dakar",
	"CI": "Africa/Abidjan", "US": "America/New_York", "CA": "America/Toronto", "BR": "America/Sao_Paulo",
	"MX": "America/Mexico_City", "JP": "Asia/Tokyo", "CN": "Asia/Shanghai", "IN": "Asia/Kolkata", "AU": "Australia/Sydney",
	"RE": "Indian/Reunion", "GP": "America/Guadeloupe", "MQ": "America/Martinique", "GF": "America/Cayenne",
	"FRANCE": "Europe/Paris", "BELGIQUE": "Europe/Brussels", "BELGIUM": "Europe/Brussels", "SUISSE": "Europe/Zurich",
	"SWITZERLAND": "Europe/Zurich", "GERMANY": "Europe/Berlin", "SPAIN": "Europe/Madrid", "ITALY": "Europe/Rome",
	"UNITED KINGDOM": "Europe/London", "CANADA": "America/Toronto", "UNITED STATES": "America/New_York",
}

func traitString(p *profile.Profile, name string) string {
	t, ok := p.Traits[name]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(t.Value, &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

// location returns the customer's time zone and where it came from: the
// timezone trait, else their country (trait or last location), else the
// brand's.
func (p *Pipeline) location(prof *profile.Profile) (*time.Location, string) {
	if tz := traitString(prof, "timezone"); tz != "" {
		if loc, err := time.LoadLocation(tz); err == nil {
			return loc, "timezone trait"
		}
	}
	for _, country := range []string{traitString(prof, "country"), prof.Agg.Location.Country} {
		if z, ok := countryZones[strings.ToUpper(strings.TrimSpace(country))]; ok {
			loc, err := time.LoadLocation(z)
			if err == nil {
				return loc, "country " + country
			}
		}
	}
	loc, err := time.LoadLocation(p.o.Policy.Timezone)
	if err != nil {
		return time.UTC, "UTC (the brand's time zone " + p.o.Policy.Timezone + " is unknown)"
	}
	return loc, "the brand's time zone"
}

// quietUntil returns, when now falls in the customer's quiet hours on ch,
// the end of them (in UTC) and the reason to record; zero otherwise.
func (p *Pipeline) quietUntil(prof *profile.Profile, ch provider.Channel, now time.Time) (time.Time, string) {
	q := p.o.Policy.QuietHours
	if q == nil || !personal(ch) || (len(q.Channels) > 0 && !contains(q.Channels, ch)) {
		return zeroTime, ""
	}
	start, err1 := minutes(q.Start)
	end, err2 := minutes(q.End)
	if err1 != nil || err2 != nil || start == end {
		return zeroTime, ""
	}
	loc, from := p.location(prof)
	local := now.In(loc)
	at := local.Hour()*60 + local.Minute()
	quiet := start < end && at >= start && at < end || start > end && (at >= start || at < end)
	if !quiet {
		return zeroTime, ""
	}
	// The end of the quiet hours on the local calendar: today's if it is
	// still ahead, else tomorrow's. time.Date normalises a wall time that
	// a DST change skips.
	y, m, d := local.Date()
	until := time.Date(y, m, d, end/60, end%60, 0, 0, loc)
	if !until.After(local) {
		until = time.Date(y, m, d+1, end/60, end%60, 0, 0, loc)
	}
	return until.UTC(), fmt.Sprintf("quiet hours %s-%s in %s (%s): deferred to %s", q.Start, q.End, loc, from,
		until.Format("2006-01-02 15:04 MST"))
}

func contains(chs []provider.Channel, ch provider.Channel) bool {
	for _, c := range chs {
		if c == ch {
			return true
		}
	}
	return false
}
