package journey

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// SendChannels are the channels a send step may name: the messaging
// channels that reach a customer (channel.Names), and best. The brand's
// own endpoint is the webhook step's.
func SendChannels() []string {
	var out []string
	for _, n := range channel.Names(channel.Descriptor.Personal) {
		out = append(out, string(n))
	}
	return append(out, string(channel.Best))
}

// maxSteps bounds a journey's size (every step, nested ones included).
const maxSteps = 200

// Validate checks d and returns the first problem, as a *problem.ValidationError.
// known lists the segments that exist (for segment triggers, exits and
// member conditions).
func Validate(d *Definition, known segment.Known) error {
	v := &validator{d: d, known: known}
	if err := v.definition(); err != nil {
		var ve *problem.ValidationError
		if errors.As(err, &ve) {
			ve.ID = d.ID
		}
		return err
	}
	return nil
}

type validator struct {
	d     *Definition
	known segment.Known
	steps int
}

func fail(path, reason string) error { return invalid("", path, reason) }

func (v *validator) definition() error {
	d := v.d
	if d.Kind != "" && d.Kind != "journey" {
		return fail("kind", fmt.Sprintf("is %q; a journey's kind is \"journey\"", d.Kind))
	}
	if !idPattern.MatchString(d.ID) {
		return fail("id", "must be 1-64 lower-case letters, digits, '-' or '_', starting with a letter or digit")
	}
	if strings.TrimSpace(d.Name) == "" {
		return fail("name", "is required")
	}
	if len(d.Triggers) == 0 {
		return fail("triggers", "needs at least one trigger: event, segment_entered, segment_exited, schedule, date_trait or api: true")
	}
	for i, t := range d.Triggers {
		path := fmt.Sprintf("triggers[%d]", i)
		if t.MaxAge != nil {
			if err := maxAge(t.MaxAge, &t.Match, path+".max_age"); err != nil {
				return err
			}
		}
		if s := t.Schedule; s != nil {
			if t.API || !t.Match.empty() || t.DateTrait != nil {
				return fail(path, "sets schedule and another trigger: one trigger per item")
			}
			if _, err := parseClock(s.At); err != nil {
				return fail(path+".schedule.at", err.Error())
			}
			if _, err := zone(s.Zone); err != nil {
				return fail(path+".schedule.zone", fmt.Sprintf("%q: expected utc or an IANA zone like Europe/Paris", s.Zone))
			}
			if _, ok := v.known.Segments[s.Segment]; !ok {
				return fail(path+".schedule.segment", fmt.Sprintf("no segment %q exists; a schedule enrols a segment's members", s.Segment))
			}
			continue
		}
		if dt := t.DateTrait; dt != nil {
			if t.API || !t.Match.empty() {
				return fail(path, "sets date_trait and another trigger: one trigger per item")
			}
			if err := dateTrait(dt, path+".date_trait"); err != nil {
				return err
			}
			continue
		}
		if t.API {
			if !t.Match.empty() {
				return fail(path, "sets api and an event or segment: one trigger per item")
			}
			continue
		}
		if err := v.match(&t.Match, path); err != nil {
			return err
		}
	}
	if d.EntryWhen != nil {
		if err := condition(d.EntryWhen, "entry_when", v.known); err != nil {
			return err
		}
	}
	switch d.ReEntry.Policy {
	case "", ReEntryOnce, ReEntryAlways:
		if d.ReEntry.Cooldown != nil {
			return fail("re_entry.cooldown", "is only for policy: cooldown")
		}
	case ReEntryCooldown:
		if d.ReEntry.Cooldown == nil || *d.ReEntry.Cooldown <= 0 {
			return fail("re_entry.cooldown", "is required with policy cooldown: a positive duration like 30d")
		}
	default:
		return fail("re_entry.policy", fmt.Sprintf("%q: expected once, cooldown or always", d.ReEntry.Policy))
	}
	if err := v.reEntryKey(); err != nil {
		return err
	}
	for i := range d.ExitOn {
		if err := v.match(&d.ExitOn[i], fmt.Sprintf("exit_on[%d]", i)); err != nil {
			return err
		}
	}
	if d.ControlGroup < 0 || d.ControlGroup >= 100 {
		return fail("control_group", "must be a percentage from 0 to below 100")
	}
	if g := d.Goal; g != nil {
		if strings.TrimSpace(g.Event) == "" {
			return fail("goal.event", "is required: the event that counts as a conversion")
		}
		if g.Within <= 0 {
			return fail("goal.within", "is required: a positive conversion window like 7d")
		}
	}
	if len(d.Steps) == 0 {
		return fail("steps", "needs at least one step")
	}
	return v.list(d.Steps, "steps")
}

func (m *Match) empty() bool {
	return m.Event == "" && m.SegmentEntered == "" && m.SegmentExited == "" && m.Where == nil && m.Near == nil
}

func (v *validator) match(m *Match, path string) error {
	if n := m.Near; n != nil {
		if m.Event == "" {
			return fail(path+".near", "is a filter on an event's position: set event too")
		}
		if n.Km <= 0 {
			return fail(path+".near.km", "must be a positive distance in kilometres, like 0.5")
		}
	}
	var set []string
	if m.Event != "" {
		set = append(set, "event")
	}
	if m.SegmentEntered != "" {
		set = append(set, "segment_entered")
	}
	if m.SegmentExited != "" {
		set = append(set, "segment_exited")
	}
	switch len(set) {
	case 0:
		if m.Where != nil {
			return fail(path+".where", "filters nothing: give the event's name with event")
		}
		return fail(path, "is empty: give event (with where), segment_entered or segment_exited")
	case 1:
	default:
		return fail(path, "sets "+strings.Join(set, " and ")+": one per item")
	}
	if m.Where != nil && m.Event == "" {
		return fail(path+".where", "filters event properties: only with event")
	}
	for k, val := range m.Where {
		if str, ok := val.(string); ok {
			if err := checkPlaceholders(str); err != nil {
				return fail(path+".where."+k, err.Error())
			}
		}
		switch val.(type) {
		case string, float64, int, bool, []any, nil:
		default:
			return fail(path+".where."+k, "must be a string, number, boolean or a list of them")
		}
	}
	for _, seg := range []string{m.SegmentEntered, m.SegmentExited} {
		if seg == "" {
			continue
		}
		if _, ok := v.known.Segments[seg]; !ok {
			return fail(path+"."+set[0], fmt.Sprintf("no segment %q exists; apply it first (or in the same apply)", seg))
		}
	}
	return nil
}

func (v *validator) list(steps []Step, path string) error {
	for i := range steps {
		if err := v.step(&steps[i], fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func (v *validator) step(s *Step, path string) error {
	if v.steps++; v.steps > maxSteps {
		return fail(path, fmt.Sprintf("a journey has at most %d steps", maxSteps))
	}
	kinds := s.kinds()
	switch len(kinds) {
	case 0:
		return fail(path, "is empty: give send, wait, wait_for, branch, split, update_trait, webhook, task or exit")
	case 1:
	default:
		return fail(path, "sets "+strings.Join(kinds, " and ")+": one kind per step")
	}
	return v.kind(kinds[0], s, path+"."+kinds[0])
}

// parseClock reads a time of day "HH:MM" into the offset from midnight.
func parseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not a time of day like 10:00 (24-hour)", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

// condition checks a condition on the customer, with the journey's
// error type.
func condition(c *segment.Condition, path string, known segment.Known) error {
	err := segment.ValidateCondition(c, path, known)
	var se *problem.ValidationError
	if errors.As(err, &se) {
		return fail(se.Path, se.Reason)
	}
	return err
}

// zone returns the location a wait's zone names ("" and utc: UTC).
func zone(name string) (*time.Location, error) {
	switch strings.ToLower(name) {
	case "", "utc":
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

// maxAge checks a freshness window: a positive duration, on an event.
func maxAge(d *Duration, m *Match, path string) error {
	if m.Event == "" {
		return fail(path, "is the freshness window of an event: set event too (a segment change caused by history carries historical: true and never triggers, whatever max_age)")
	}
	if *d <= 0 {
		return fail(path, "must be a positive duration like 2h or 7d: how long after it happened an event may be received and still be news (default 24h)")
	}
	return nil
}

// reEntryKey checks re_entry.key: a property path of the triggering
// event, in a journey some event triggers.
func (v *validator) reEntryKey() error {
	key := v.d.ReEntry.Key
	if key == "" {
		return nil
	}
	const how = "a property path of the triggering event, like order_id or order.id"
	if strings.TrimSpace(key) != key || strings.Contains(key, "{{") {
		return fail("re_entry.key", fmt.Sprintf("%q is not a property path: write %s (no spaces around it, no {{ }})", key, how))
	}
	for _, part := range strings.Split(key, ".") {
		if part == "" {
			return fail("re_entry.key", fmt.Sprintf("%q has an empty part: write %s", key, how))
		}
	}
	if !slices.ContainsFunc(v.d.Triggers, func(t Trigger) bool { return t.Event != "" }) {
		return fail("re_entry.key", "reads a property of the triggering event, but no trigger is an event (add one like {event: Order Completed})")
	}
	return nil
}
