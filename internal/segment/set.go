package segment

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
)

// Set is the live segments, compiled: the behaviour keys to record facts
// for, indexed by event name, and for each segment what can change its
// result (so that an event re-evaluates only the segments it can affect).
type Set struct {
	segs    []*compiled // dependencies first
	byID    map[string]*compiled
	keys    map[string]*keySpec
	byEvent map[string][]*keySpec
	// context: a condition reads sources or device types, which the
	// facts then record; consent: a condition reads consent (consent or
	// reachable), which an evaluation then loads from the ledger.
	context, consent bool
}

type compiled struct {
	def *Definition
	// What the result depends on.
	events   map[string]bool // behaviour on these event names
	anyEvent bool            // computed traits, context, geography: any customer event
	traits   bool            // identify traits
	timed    bool            // the result can change with time alone
	members  []string        // other segments
}

// keySpec is one behaviour key: an event name and property filter (and the
// property whose values are summed).
type keySpec struct {
	key     string
	event   string
	where   map[string]any
	sumProp string
	// horizon is how far back any condition looks; 0: ever.
	horizon time.Duration
}

// NewSet compiles defs. They must be valid (Validate) together.
func NewSet(defs []*Definition) (*Set, error) {
	s := &Set{byID: map[string]*compiled{}, keys: map[string]*keySpec{}, byEvent: map[string][]*keySpec{}}
	ever := map[string]bool{}
	for _, d := range defs {
		c := &compiled{def: d, events: map[string]bool{}}
		d.Where.walk(func(x *Condition) {
			switch {
			case x.Performed != nil:
				b := x.Performed
				c.events[b.Event] = true
				k := s.key(b)
				b.key = k.key
				if b.Within == nil {
					ever[k.key] = true
				} else {
					c.timed = true
					k.horizon = max(k.horizon, time.Duration(*b.Within))
				}
			case x.Trait != "":
				c.traits = true
				c.timed = c.timed || x.WithinLast != nil || x.OlderThan != nil || x.AnniversaryWithin != nil
			case x.Computed != "":
				c.anyEvent = true
				c.timed = c.timed || x.WithinLast != nil || x.OlderThan != nil || x.AnniversaryWithin != nil ||
					x.Computed == "days_since_last_purchase" || x.Computed == "points_expiring_soon"
			case x.Channel != "", x.LastChannel != "", x.Source != "", x.DeviceType != "", x.Near != nil:
				s.context = s.context || x.Source != "" || x.DeviceType != ""
				c.anyEvent = true
			case x.City != "", x.Country != "":
				c.anyEvent, c.traits = true, true
			case x.Consent != "", x.Reachable != "":
				s.consent = true
				c.traits = true
				c.anyEvent = x.Reachable != "" // a new identifier comes with any event
			case x.Member != "":
				c.members = append(c.members, x.Member)
			}
		})
		s.byID[d.ID] = c
	}
	for k := range ever {
		s.keys[k].horizon = 0
	}
	// Order: a segment after the segments it refers to.
	done := map[string]bool{}
	var visit func(id string, depth int) error
	visit = func(id string, depth int) error {
		if done[id] {
			return nil
		}
		if depth > len(defs) {
			return fmt.Errorf("segment: %s: segments refer to each other in a cycle", id)
		}
		c, ok := s.byID[id]
		if !ok {
			return fmt.Errorf("segment: a member condition refers to %q, which is not a live segment", id)
		}
		for _, m := range c.members {
			if err := visit(m, depth+1); err != nil {
				return err
			}
			// A segment inherits what its members depend on.
			mc := s.byID[m]
			c.anyEvent = c.anyEvent || mc.anyEvent
			c.traits = c.traits || mc.traits
			c.timed = c.timed || mc.timed
			for e := range mc.events {
				c.events[e] = true
			}
		}
		done[id] = true
		s.segs = append(s.segs, c)
		return nil
	}
	ids := make([]string, 0, len(defs))
	for _, d := range defs {
		ids = append(ids, d.ID)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := visit(id, 0); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// key returns (registering it) the behaviour key of b.
func (s *Set) key(b *Behaviour) *keySpec {
	where, _ := json.Marshal(b.Where) // map keys are sorted: canonical
	sum := ""
	if b.Sum != nil {
		sum = b.Sum.Property
	}
	k := b.Event + "|" + string(where) + "|" + sum
	if ks, ok := s.keys[k]; ok {
		return ks
	}
	ks := &keySpec{key: k, event: b.Event, where: b.Where, sumProp: sum, horizon: 1}
	s.keys[k] = ks
	s.byEvent[b.Event] = append(s.byEvent[b.Event], ks)
	return ks
}

// needs says which events the facts come from: the track events named in
// names, or every event when a condition reads sources or device types.
func (s *Set) needs() (names []string, all bool) {
	if s.context {
		return nil, true
	}
	names = []string{}
	for n := range s.byEvent {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, false
}

// Definitions returns the compiled definitions, dependencies first.
func (s *Set) Definitions() []*Definition {
	out := make([]*Definition, len(s.segs))
	for i, c := range s.segs {
		out[i] = c.def
	}
	return out
}

// Observe records what e tells about its profile in st: behaviour facts,
// and the source and device type when a condition reads them. It returns
// whether any fact changed.
func (s *Set) Observe(st *State, e *event.Event, now time.Time) bool {
	changed := s.context && s.observeContext(st, e)
	specs := s.byEvent[e.Event]
	if len(specs) == 0 || e.Type != event.Track {
		return changed
	}
	props := map[string]any{}
	if len(e.Properties) > 0 {
		_ = json.Unmarshal(e.Properties, &props)
	}
	for _, k := range specs {
		if !matches(props, k.where) {
			continue
		}
		h := Hit{Seq: e.Seq, At: e.Timestamp.UnixMilli()}
		if k.sumProp != "" {
			h.V, _ = number(lookup(props, k.sumProp))
		}
		if st.add(k.key, h) {
			changed = true
			st.prune(k.key, k.horizon, now)
		}
	}
	return changed
}

// observeContext records e's source and device type.
func (s *Set) observeContext(st *State, e *event.Event) bool {
	changed := false
	if e.Channel != profile.InternalChannel && e.SourceID != "" && !st.Sources[e.SourceID] {
		st.setSource(e.SourceID)
		changed = true
	}
	if dt := deviceType(e); dt != "" {
		old := st.Device
		st.setDevice(Stamped{Value: dt, At: e.Timestamp.UnixMilli(), Seq: e.Seq})
		changed = changed || old != st.Device
	}
	return changed
}

// Prune drops the facts no condition can see any more.
func (s *Set) Prune(st *State, now time.Time) {
	for key := range st.Facts {
		k, ok := s.keys[key]
		if !ok {
			delete(st.Facts, key) // a key no live segment uses
			continue
		}
		st.prune(key, k.horizon, now)
	}
}

// deviceType is context.device.type, when the event has one.
func deviceType(e *event.Event) string {
	if len(e.Context) == 0 || !strings.Contains(string(e.Context), `"device"`) {
		return ""
	}
	var c struct {
		Device struct {
			Type string `json:"type"`
		} `json:"device"`
	}
	_ = json.Unmarshal(e.Context, &c)
	return strings.ToLower(c.Device.Type)
}

// matches reports whether props satisfy every filter of where.
func matches(props map[string]any, where map[string]any) bool {
	for k, want := range where {
		got := lookup(props, k)
		if list, ok := want.([]any); ok {
			if !slices.ContainsFunc(list, func(w any) bool { return equal(got, w) }) {
				return false
			}
			continue
		}
		if !equal(got, want) {
			return false
		}
	}
	return true
}

// lookup finds a dotted key ("product.brand") in props.
func lookup(props map[string]any, key string) any {
	if v, ok := props[key]; ok {
		return v
	}
	var cur any = props
	for part := range strings.SplitSeq(key, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// MentionsConsent reports whether the condition reads a profile's consent
// (a consent or reachable condition anywhere in it): only then must its
// evaluation be given the consent ledger's state (Input.Consent).
func (c *Condition) MentionsConsent() bool {
	found := false
	c.walk(func(x *Condition) { found = found || x.Consent != "" || x.Reachable != "" })
	return found
}
