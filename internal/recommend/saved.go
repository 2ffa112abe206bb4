package recommend

import (
	"encoding/json"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
)

// EventRecommendationSaved is the event a saved definition (kind:
// recommendation) is kept as. Definitions live in the event log, like
// everything the model knows: the stage learns them when it replays the
// log at start, so they need no table of their own and a restart cannot
// lose one.
const EventRecommendationSaved = "Recommendation Saved"

// SavedEvent is the event that saves d.
func SavedEvent(d Definition, now time.Time) *event.Event {
	b, _ := json.Marshal(d) // plain fields always encode
	return &event.Event{MessageID: event.NewMessageID(), Type: event.Track, Event: EventRecommendationSaved,
		Properties: b, Timestamp: now, ReceivedAt: now, SourceID: "src_parcours", Channel: profile.InternalChannel}
}

// Save makes d one of the model's definitions at once (the API calls it
// once its event is committed: the stage learning the event later sets
// the same definition again).
func (m *Model) Save(d Definition) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.defs == nil {
		m.defs = map[string]Definition{}
	}
	m.defs[d.Name] = d
	m.version++
}

// saved learns a Recommendation Saved event. Lock should be held.
func (m *Model) saved(e *event.Event) {
	var d Definition
	if json.Unmarshal(e.Properties, &d) != nil || d.Validate() != nil {
		return
	}
	if m.defs == nil {
		m.defs = map[string]Definition{}
	}
	m.defs[d.Name] = d
}

// saved returns the definitions saved so far.
func (m *Model) savedDefinitions() []Definition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Definition, 0, len(m.defs))
	for _, d := range m.defs {
		out = append(out, d)
	}
	return out
}
