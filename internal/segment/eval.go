package segment

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
)

// Input is what one evaluation reads.
type Input struct {
	Profile *profile.Profile
	State   *State
	Env     *profile.Env
	// Consent is the profile's channel-level consent from the ledger;
	// a channel it does not name falls back to the opt-in traits.
	Consent map[string]bool
	// Suppressed, if set, says whether an address is suppressed.
	Suppressed func(channel, address string) bool
	// Performed, if set, answers behaviour conditions (from the
	// behaviour index) instead of State's facts; known false falls back
	// to the facts. A preview sets it; it says nothing of when a result
	// can next change.
	Performed func(b *Behaviour) (ok, known bool)
}

// evaluation is one profile's evaluation at one instant.
type evaluation struct {
	in       Input
	now      time.Time
	members  map[string]bool // results so far in this evaluation
	computed map[string]any
	// next is the earliest instant after now at which a result read so
	// far can change with time alone; zero if none.
	next time.Time
}

// Result is a profile's membership after an evaluation.
type Result struct {
	Members map[string]bool
	// Due maps the segments evaluated to the instant their result can
	// next change with no event (a window passes, a birthday comes);
	// zero: never.
	Due map[string]time.Time
}

// Evaluate evaluates every segment of the set for one profile.
func (s *Set) Evaluate(in Input) Result {
	return s.evaluate(in, nil)
}

// evaluate evaluates the segments for which only says true (nil: all);
// the others keep their current membership from the state.
func (s *Set) evaluate(in Input, only func(*compiled) bool) Result {
	ev := &evaluation{in: in, now: in.Env.Now, members: make(map[string]bool, len(s.segs))}
	due := map[string]time.Time{}
	for _, c := range s.segs {
		if only != nil && !only(c) {
			_, ev.members[c.def.ID] = in.State.Members[c.def.ID]
			continue
		}
		ev.next = time.Time{}
		ev.members[c.def.ID] = ev.cond(&c.def.Where)
		due[c.def.ID] = ev.next
	}
	return Result{Members: ev.members, Due: due}
}

// at records that a result can change at t.
func (ev *evaluation) at(t time.Time) {
	if t.After(ev.now) && (ev.next.IsZero() || t.Before(ev.next)) {
		ev.next = t
	}
}

func (ev *evaluation) cond(c *Condition) bool {
	p := ev.in.Profile
	switch {
	case c.All != nil:
		ok := true
		for i := range c.All {
			// Every child is evaluated, so that the next change time
			// covers them all.
			ok = ev.cond(&c.All[i]) && ok
		}
		return ok
	case c.Any != nil:
		ok := false
		for i := range c.Any {
			ok = ev.cond(&c.Any[i]) || ok
		}
		return ok
	case c.Not != nil:
		return !ev.cond(c.Not)
	case c.Trait != "":
		var v any
		if t, ok := p.Traits[c.Trait]; ok {
			_ = json.Unmarshal(t.Value, &v)
		} else if strings.Contains(c.Trait, ".") {
			v = ev.nestedTrait(c.Trait)
		}
		return ev.compare(&c.Compare, v)
	case c.Computed != "":
		return ev.compare(&c.Compare, ev.computedValue(c.Computed))
	case c.Performed != nil:
		return ev.performed(c.Performed)
	case c.Channel != "":
		return usedChannel(p, c.Channel)
	case c.LastChannel != "":
		return channelMatches(c.LastChannel, p.Agg.Last.Value)
	case c.Source != "":
		return ev.in.State.Sources[c.Source]
	case c.DeviceType != "":
		return strings.EqualFold(ev.in.State.Device.Value, c.DeviceType)
	case c.Near != nil:
		return ev.near(c.Near)
	case c.City != "":
		return strings.EqualFold(firstNonEmpty(p.Agg.Location.City, ev.traitString("city"), ev.traitString("address.city")), c.City)
	case c.Country != "":
		return strings.EqualFold(firstNonEmpty(p.Agg.Location.Country, ev.traitString("country"), ev.traitString("address.country")), c.Country)
	case c.Consent != "":
		return ev.consents(c.Consent)
	case c.Reachable != "":
		return ev.consents(c.Reachable) && ev.reachableAddress(c.Reachable)
	case c.Member != "":
		return ev.members[c.Member]
	}
	return false
}

func (ev *evaluation) nestedTrait(path string) any {
	root, rest, _ := strings.Cut(path, ".")
	t, ok := ev.in.Profile.Traits[root]
	if !ok {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(t.Value, &m) != nil {
		return nil
	}
	return lookup(m, rest)
}

func (ev *evaluation) traitString(path string) string {
	var v any
	if t, ok := ev.in.Profile.Traits[path]; ok {
		_ = json.Unmarshal(t.Value, &v)
	} else {
		v = ev.nestedTrait(path)
	}
	s, _ := v.(string)
	return s
}

// computedValue is a computed trait as JSON would show it (times as text,
// numbers as float64).
func (ev *evaluation) computedValue(name string) any {
	if v, ok := ev.computed[name]; ok {
		return v
	}
	if ev.computed == nil {
		ev.computed = map[string]any{}
	}
	var v any
	for _, d := range profile.Definitions {
		if d.Name == name {
			v = d.Value(ev.in.Profile, ev.in.Env)
			break
		}
	}
	if v != nil {
		if b, err := json.Marshal(v); err == nil {
			v = nil
			_ = json.Unmarshal(b, &v)
		}
	}
	if name == "days_since_last_purchase" && !ev.in.Profile.Agg.LastOrderAt.IsZero() {
		// The count goes up at each whole day after the last order.
		last := ev.in.Profile.Agg.LastOrderAt
		days := int(ev.now.Sub(last) / (24 * time.Hour))
		ev.at(last.Add(time.Duration(days+1) * 24 * time.Hour))
	}
	ev.computed[name] = v
	return v
}

func (ev *evaluation) compare(c *Compare, v any) bool {
	ok := true
	if c.Exists != nil {
		ok = ok && exists(v) == *c.Exists
	}
	if c.Equals != nil {
		ok = ok && equal(v, c.Equals)
	}
	if c.In != nil {
		ok = ok && slices.ContainsFunc(c.In, func(w any) bool { return equal(v, w) })
	}
	if c.Contains != nil {
		ok = ok && contains(v, c.Contains)
	}
	if c.Gt != nil || c.Gte != nil || c.Lt != nil || c.Lte != nil {
		n, isNum := number(v)
		ok = ok && isNum && Range{Gt: c.Gt, Gte: c.Gte, Lt: c.Lt, Lte: c.Lte}.test(n)
	}
	if c.WithinLast != nil || c.OlderThan != nil || c.AnniversaryWithin != nil {
		t, isTime := parseTime(v)
		if !isTime {
			return false
		}
		if c.WithinLast != nil {
			d := time.Duration(*c.WithinLast)
			in := !t.After(ev.now) && !t.Before(ev.now.Add(-d))
			// A future date enters the window when it comes; the date
			// leaves it just after t + d.
			ev.at(t)
			ev.at(t.Add(d + time.Millisecond))
			ok = ok && in
		}
		if c.OlderThan != nil {
			d := time.Duration(*c.OlderThan)
			ev.at(t.Add(d + time.Millisecond))
			ok = ok && t.Before(ev.now.Add(-d))
		}
		if c.AnniversaryWithin != nil {
			ok = ok && ev.anniversary(t, time.Duration(*c.AnniversaryWithin))
		}
	}
	return ok
}

// anniversary reports whether the next occurrence of t's month and day
// (today included) is within d, by whole days in UTC.
func (ev *evaluation) anniversary(t time.Time, d time.Duration) bool {
	today := time.Date(ev.now.Year(), ev.now.Month(), ev.now.Day(), 0, 0, 0, 0, time.UTC)
	occ := time.Date(today.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	if occ.Before(today) {
		occ = time.Date(today.Year()+1, t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	days := time.Duration(math.Floor(d.Hours()/24)) * 24 * time.Hour
	if occ.Sub(today) <= days {
		ev.at(occ.Add(24 * time.Hour)) // leaves when the day has passed
		return true
	}
	ev.at(occ.Add(-days)) // enters that many days before
	return false
}

func (ev *evaluation) performed(b *Behaviour) bool {
	if ev.in.Performed != nil {
		if ok, known := ev.in.Performed(b); known {
			return ok
		}
	}
	key := b.key
	hits := ev.in.State.Facts[key]
	var n int
	var total float64
	nowMs := ev.now.UnixMilli()
	if b.Within == nil {
		old := ev.in.State.Older[key]
		n, total = old.N, old.Sum
		for _, h := range hits {
			if h.At > nowMs {
				ev.at(time.UnixMilli(h.At))
				continue
			}
			n++
			total += h.V
		}
	} else {
		// Hits are sorted by time: the window is one range of them, and
		// the oldest in it is the first to leave.
		w := time.Duration(*b.Within)
		from := nowMs - w.Milliseconds()
		lo, _ := slices.BinarySearchFunc(hits, from, func(h Hit, t int64) int { return cmpInt(h.At, t) })
		hi, _ := slices.BinarySearchFunc(hits, nowMs+1, func(h Hit, t int64) int { return cmpInt(h.At, t) })
		n = hi - lo
		if b.Sum != nil {
			for _, h := range hits[lo:hi] {
				total += h.V
			}
		}
		if n > 0 {
			ev.at(time.UnixMilli(hits[lo].At).Add(w + time.Millisecond))
		}
		if hi < len(hits) {
			ev.at(time.UnixMilli(hits[hi].At))
		}
	}
	count := Range{Gte: ptr(1.0)}
	if b.Count != nil {
		count = *b.Count
	}
	ok := count.test(float64(n))
	if b.Sum != nil {
		ok = ok && b.Sum.Range.test(total)
	}
	return ok
}

func (ev *evaluation) near(n *Near) bool {
	loc := ev.in.Profile.Agg.Location
	if loc.At.IsZero() {
		return false
	}
	lat, lon := 0.0, 0.0
	if n.Store != "" {
		i := slices.IndexFunc(ev.in.Env.Stores, func(s place.Location) bool { return s.ID == n.Store })
		if i < 0 {
			return false
		}
		lat, lon = ev.in.Env.Stores[i].Lat, ev.in.Env.Stores[i].Lon
	} else {
		lat, lon = *n.Lat, *n.Lon
	}
	return place.DistanceKm(loc.Lat, loc.Lon, lat, lon) <= n.Km
}

// reachableAddress reports whether the profile has an address on the
// channel that is not suppressed.
func (ev *evaluation) reachableAddress(ch string) bool {
	kind := addressKind(ch)
	for _, id := range ev.in.Profile.Identifiers {
		if id.Kind == kind && (ev.in.Suppressed == nil || !ev.in.Suppressed(ch, id.Value)) {
			return true
		}
	}
	return false
}

// consents reads the ledger's consent, else the opt-in traits.
func (ev *evaluation) consents(ch string) bool {
	if granted, ok := ev.in.Consent[ch]; ok {
		return granted
	}
	return Consents(ev.in.Profile, ch)
}

// Consents reports whether the profile opted in to a channel (its
// consent trait, <channel>OptIn or <channel>_opt_in, is true).
func Consents(p *profile.Profile, ch string) bool {
	d, ok := channel.Lookup(channel.Name(ch))
	if !ok || !d.Personal() {
		return false
	}
	for _, name := range d.OptInTraits() {
		if t, ok := p.Traits[name]; ok {
			var b bool
			return json.Unmarshal(t.Value, &b) == nil && b
		}
	}
	return false
}

// Reachable reports whether the profile consents to a channel and has an
// address on it.
func Reachable(p *profile.Profile, ch string) bool {
	return Consents(p, ch) && hasAddress(p, ch)
}

// hasAddress reports whether the profile has an address on the channel.
func hasAddress(p *profile.Profile, ch string) bool {
	kind := addressKind(ch)
	return kind != "" && slices.ContainsFunc(p.Identifiers, func(id identity.Identifier) bool { return id.Kind == kind })
}

// addressKind is the identifier kind that addresses a channel, "" if none.
func addressKind(ch string) identity.Kind {
	d, _ := channel.Lookup(channel.Name(ch))
	return d.Address
}

func ptr[T any](v T) *T { return &v }

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func exists(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	}
	return true
}

// equal compares a value from JSON with one from a definition: strings
// case-insensitively, numbers as numbers (a numeric string too).
func equal(got, want any) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	if wn, ok := number(want); ok {
		if _, isBool := want.(bool); !isBool {
			gn, ok := number(got)
			return ok && gn == wn
		}
	}
	switch w := want.(type) {
	case string:
		g, ok := got.(string)
		return ok && strings.EqualFold(strings.TrimSpace(g), strings.TrimSpace(w))
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	}
	return fmt.Sprint(got) == fmt.Sprint(want)
}

func contains(v, want any) bool {
	switch x := v.(type) {
	case string:
		w, ok := want.(string)
		return ok && strings.Contains(strings.ToLower(x), strings.ToLower(w))
	case []any:
		return slices.ContainsFunc(x, func(e any) bool { return equal(e, want) })
	}
	return false
}

// number reads v as a number: JSON numbers, Go numbers, numeric strings.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// parseTime reads a date or time: RFC 3339, "2006-01-02", "01-02" (a
// yearly date), or unix seconds.
func parseTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "01-02", "02/01/2006"} {
			if t, err := time.Parse(layout, strings.TrimSpace(x)); err == nil {
				return t.UTC(), true
			}
		}
	case float64:
		return time.Unix(int64(x), 0).UTC(), true
	}
	return time.Time{}, false
}
