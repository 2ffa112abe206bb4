package journey

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// triggered is what an enrolment keeps of the event that enrolled the
// customer: its re_entry key and when it happened.
type triggered struct {
	// Key is the value of the journey's re_entry.key in the triggering
	// event ("" without one: the enrolment takes every event).
	Key string `json:"key,omitempty"`
	// At is the triggering event's time.
	At time.Time `json:"at,omitzero"`
}

// key is the enrolment's re_entry key ("": none).
func (s *state) key() string {
	if s.Trigger == nil {
		return ""
	}
	return s.Trigger.Key
}

// keyOf is the re_entry key s carries for p ("": p is not keyed, or s has
// no such property).
func (p *program) keyOf(s *seen) string {
	if p.def.ReEntry.Key == "" || s == nil {
		return ""
	}
	k, _ := keyString(property(s.props, p.def.ReEntry.Key))
	return k
}

// about says whether s concerns en: in a keyed journey, an event that
// carries the key property concerns only the enrolment with that key; an
// event without it, and an enrolment without a key, concern all.
func (p *program) about(en *store.Enrolment, s *seen) bool {
	k := p.keyOf(s)
	if k == "" {
		return true
	}
	ek := readState(en).key()
	return ek == "" || ek == k
}

// keyLabel names a key for traces: "order_id A-1", or "no order_id".
func keyLabel(path, key string) string {
	if key == "" {
		return "no " + path
	}
	return path + " " + key
}

// keyString is a property value as a key: strings as they are, numbers
// and booleans as JSON writes them (order 1234 and order "1234" are one
// order). Empty strings, objects, lists and null are no key.
func keyString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}
