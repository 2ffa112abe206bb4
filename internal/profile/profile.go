// Package profile is the unified customer profile: the identifiers a
// customer is known by, their traits with provenance, and the computed
// traits kept up to date as their events arrive. It holds the data and the
// rules that fold events into it; the unify package runs them over the
// event log.
package profile

import (
	"encoding/json"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
)

// Profile is one customer.
type Profile struct {
	ID          int64                 `json:"id"`
	Identifiers []identity.Identifier `json:"identifiers"`
	// Merges counts the profiles merged into this one (caps merge storms).
	Merges int              `json:"merges"`
	Traits map[string]Trait `json:"traits"`
	Agg    Aggregates       `json:"aggregates"`
}

// New returns an empty profile.
func New(id int64) *Profile {
	return &Profile{ID: id, Traits: map[string]Trait{}, Agg: newAggregates()}
}

// Trait is a trait's value with where it came from. A trait takes the value
// of the latest event by event time, whatever order events arrive in; ties
// are broken by source and message id, never by arrival.
type Trait struct {
	Value     json.RawMessage `json:"value"`
	At        time.Time       `json:"at"`
	SourceID  string          `json:"source"`
	MessageID string          `json:"message_id"`
	Seq       int64           `json:"seq"`
}

// newer reports whether t should replace old.
func (t Trait) newer(old Trait) bool {
	if !t.At.Equal(old.At) {
		return t.At.After(old.At)
	}
	if t.SourceID != old.SourceID {
		return t.SourceID > old.SourceID
	}
	return t.MessageID > old.MessageID
}

// SetTrait applies one trait value; it returns whether the trait changed.
func (p *Profile) SetTrait(name string, t Trait) bool {
	old, ok := p.Traits[name]
	if ok && !t.newer(old) {
		return false
	}
	p.Traits[name] = t
	return !ok || string(old.Value) != string(t.Value)
}

// Apply folds one event into the profile: identify traits and every
// computed trait. It returns the names of the traits that changed.
func (p *Profile) Apply(e *event.Event) []string {
	var changed []string
	if e.Type == event.Identify && len(e.Traits) > 0 {
		var traits map[string]json.RawMessage
		if json.Unmarshal(e.Traits, &traits) == nil {
			for name, v := range traits {
				t := Trait{Value: v, At: e.Timestamp, SourceID: e.SourceID, MessageID: e.MessageID, Seq: e.Seq}
				if p.SetTrait(name, t) {
					changed = append(changed, name)
				}
			}
		}
	}
	p.Agg.apply(e)
	return changed
}

// Merge folds other into p: identifiers, traits (latest wins), computed
// traits. Merging is commutative: it gives the profile that one stream of
// both profiles' events would have built.
func (p *Profile) Merge(other *Profile) {
	seen := map[identity.Identifier]bool{}
	for _, id := range p.Identifiers {
		seen[id] = true
	}
	for _, id := range other.Identifiers {
		if !seen[id] {
			p.Identifiers = append(p.Identifiers, id)
		}
	}
	p.Merges += other.Merges + 1
	for name, t := range other.Traits {
		p.SetTrait(name, t)
	}
	p.Agg.merge(&other.Agg)
}

// Marshal encodes the profile for storage.
func (p *Profile) Marshal() ([]byte, error) { return json.Marshal(p) }

// Unmarshal decodes a stored profile.
func Unmarshal(b []byte) (*Profile, error) {
	p := New(0)
	if err := json.Unmarshal(b, p); err != nil {
		return nil, err
	}
	p.Agg.init()
	return p, nil
}
