// Package segment is real-time audiences: segment definitions (conditions
// on traits, computed traits, behaviour, context, geography, consent and
// other segments, combined with all/any/not), their evaluation for one
// profile with the exact time its result can next change, the behavioural
// facts kept per profile, and the stage that follows the event log and
// turns membership changes into "Segment Entered"/"Segment Exited" events.
package segment

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Definition is a segment as users write it, in a YAML or JSON file or
// through the API.
type Definition struct {
	// Kind is "segment" in files that parcours apply reads.
	Kind        string    `json:"kind,omitempty" yaml:"kind,omitempty"`
	ID          string    `json:"id" yaml:"id"`
	Name        string    `json:"name" yaml:"name"`
	Description string    `json:"description,omitempty" yaml:"description,omitempty"`
	Where       Condition `json:"where" yaml:"where"`
}

// Condition is one node of a segment's condition tree. Exactly one kind of
// condition is set: a combinator (all, any, not) or a leaf.
type Condition struct {
	All []Condition `json:"all,omitempty" yaml:"all,omitempty"`
	Any []Condition `json:"any,omitempty" yaml:"any,omitempty"`
	Not *Condition  `json:"not,omitempty" yaml:"not,omitempty"`

	// Trait compares a profile trait (from identify calls); Computed a
	// computed trait (order_count, lifetime_value, last_channel, ...).
	Trait    string `json:"trait,omitempty" yaml:"trait,omitempty"`
	Computed string `json:"computed,omitempty" yaml:"computed,omitempty"`
	Compare  `yaml:",inline"`

	// Performed is behaviour: events the customer did (or, under not,
	// did not do).
	Performed *Behaviour `json:"performed,omitempty" yaml:"performed,omitempty"`

	// Context: a channel the customer used, their last channel, a source
	// they were seen from, the device type of their latest app event.
	Channel     string `json:"channel,omitempty" yaml:"channel,omitempty"`
	LastChannel string `json:"last_channel,omitempty" yaml:"last_channel,omitempty"`
	Source      string `json:"source,omitempty" yaml:"source,omitempty"`
	DeviceType  string `json:"device_type,omitempty" yaml:"device_type,omitempty"`

	// Geography, from the last known location.
	Near    *Near  `json:"near,omitempty" yaml:"near,omitempty"`
	City    string `json:"city,omitempty" yaml:"city,omitempty"`
	Country string `json:"country,omitempty" yaml:"country,omitempty"`

	// Consent is an opt-in to a channel; Reachable adds that the customer
	// has an address on it (email, phone, device token).
	Consent   string `json:"consent,omitempty" yaml:"consent,omitempty"`
	Reachable string `json:"reachable,omitempty" yaml:"reachable,omitempty"`

	// Member is membership of another segment, by id.
	Member string `json:"member,omitempty" yaml:"member,omitempty"`
}

// Compare is how a trait or computed trait is compared. Several may be set:
// all must hold.
type Compare struct {
	Equals   any      `json:"equals,omitempty" yaml:"equals,omitempty"`
	In       []any    `json:"in,omitempty" yaml:"in,omitempty"`
	Contains any      `json:"contains,omitempty" yaml:"contains,omitempty"`
	Exists   *bool    `json:"exists,omitempty" yaml:"exists,omitempty"`
	Gt       *float64 `json:"gt,omitempty" yaml:"gt,omitempty"`
	Gte      *float64 `json:"gte,omitempty" yaml:"gte,omitempty"`
	Lt       *float64 `json:"lt,omitempty" yaml:"lt,omitempty"`
	Lte      *float64 `json:"lte,omitempty" yaml:"lte,omitempty"`
	// Dates relative to now: the trait is a time within the last
	// duration, or older than it; AnniversaryWithin is a yearly date
	// (birthday) whose next occurrence is within the duration (0d: today).
	WithinLast        *Duration `json:"within_last,omitempty" yaml:"within_last,omitempty"`
	OlderThan         *Duration `json:"older_than,omitempty" yaml:"older_than,omitempty"`
	AnniversaryWithin *Duration `json:"anniversary_within,omitempty" yaml:"anniversary_within,omitempty"`
}

// Behaviour selects a customer's events and tests how many there were (and
// the sum of a property) inside a window.
type Behaviour struct {
	Event string `json:"event" yaml:"event"`
	// Where filters on event properties: each key must equal the value
	// (a list: one of the values). Nested keys with dots: "product.brand".
	Where map[string]any `json:"where,omitempty" yaml:"where,omitempty"`
	// Within is the window, back from now; none: ever.
	Within *Duration `json:"within,omitempty" yaml:"within,omitempty"`
	// Count bounds the number of matching events; default: at least one.
	Count *Range `json:"count,omitempty" yaml:"count,omitempty"`
	// Sum bounds the sum of a numeric property over the matching events.
	Sum *Sum `json:"sum,omitempty" yaml:"sum,omitempty"`

	key string // the behaviour key, set by NewSet
}

// Range bounds a number.
type Range struct {
	Eq  *float64 `json:"eq,omitempty" yaml:"eq,omitempty"`
	Gt  *float64 `json:"gt,omitempty" yaml:"gt,omitempty"`
	Gte *float64 `json:"gte,omitempty" yaml:"gte,omitempty"`
	Lt  *float64 `json:"lt,omitempty" yaml:"lt,omitempty"`
	Lte *float64 `json:"lte,omitempty" yaml:"lte,omitempty"`
}

// Sum bounds the sum of Property over the matching events.
type Sum struct {
	Property string `json:"property" yaml:"property"`
	Range    `yaml:",inline"`
}

// Near is a distance from a store or a point.
type Near struct {
	Store string   `json:"store,omitempty" yaml:"store,omitempty"`
	Lat   *float64 `json:"lat,omitempty" yaml:"lat,omitempty"`
	Lon   *float64 `json:"lon,omitempty" yaml:"lon,omitempty"`
	Km    float64  `json:"km" yaml:"km"`
}

// Duration is a time.Duration written as "7d", "36h", "90m" or "2w".
type Duration time.Duration

// ParseDuration reads a duration with the units d (days) and w (weeks)
// besides Go's.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("%q is not a duration like 7d, 36h or 2w", s)
			}
			return Duration(v * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 7d, 36h or 2w", s)
	}
	return Duration(d), nil
}

func (d Duration) String() string {
	t := time.Duration(d)
	switch {
	case t == 0:
		return "0d"
	case t%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", t/(24*time.Hour))
	}
	return t.String()
}

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "7d" (or a number of seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var secs float64
		if err := json.Unmarshal(b, &secs); err != nil {
			return fmt.Errorf("a duration is a string like \"7d\"")
		}
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := ParseDuration(s)
	*d = v
	return err
}

// UnmarshalText reads "7d".
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	*d = v
	return err
}

// UnmarshalYAML reads "7d" from YAML; an error names the line.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if err := d.UnmarshalText([]byte(n.Value)); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	return nil
}
