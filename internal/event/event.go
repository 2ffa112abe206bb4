// Package event holds the event model that flows through Parcours: the
// Segment tracking-API spec (track, identify, page, screen, group, alias)
// plus what Parcours adds on ingestion (source, channel, receive time,
// skew-corrected timestamp). It also parses, validates and normalises the
// events that clients send.
package event

import (
	"encoding/json"
	"time"
)

// Type is a Segment call type.
type Type string

// The Segment call types.
const (
	Track    Type = "track"
	Identify Type = "identify"
	Page     Type = "page"
	Screen   Type = "screen"
	Group    Type = "group"
	Alias    Type = "alias"
)

// Types lists every call type, in the order the Segment spec documents them.
var Types = []Type{Identify, Track, Page, Screen, Group, Alias}

// ParseType returns the Type named s. Segment clients send lower-case names;
// upper-case letters are accepted too.
func ParseType(s string) (Type, bool) {
	switch s {
	case "track", "identify", "page", "screen", "group", "alias":
		return Type(s), true
	}
	for _, t := range Types {
		if equalFoldASCII(s, string(t)) {
			return t, true
		}
	}
	return "", false
}

// Event is one event as stored in the event log.
//
// Nested objects (properties, traits, context, integrations) are kept as the
// raw JSON the client sent, already validated to be objects: most stages only
// read a few keys, and re-encoding them on the ingest path would cost more
// than it gives.
type Event struct {
	// Seq is the event's position in the event log, assigned on append.
	Seq int64 `json:"seq,omitempty"`

	MessageID   string `json:"messageId"`
	Type        Type   `json:"type"`
	Event       string `json:"event,omitempty"`    // track: the action's name
	Name        string `json:"name,omitempty"`     // page, screen
	Category    string `json:"category,omitempty"` // page
	UserID      string `json:"userId,omitempty"`
	AnonymousID string `json:"anonymousId,omitempty"`
	GroupID     string `json:"groupId,omitempty"`    // group
	PreviousID  string `json:"previousId,omitempty"` // alias

	Properties   json.RawMessage `json:"properties,omitempty"`
	Traits       json.RawMessage `json:"traits,omitempty"`
	Context      json.RawMessage `json:"context,omitempty"`
	Integrations json.RawMessage `json:"integrations,omitempty"`

	// Timestamp is when the event happened, corrected for the client's
	// clock skew when the client sent sentAt.
	Timestamp time.Time `json:"timestamp"`
	// OriginalTimestamp is the timestamp the client sent, if any.
	OriginalTimestamp time.Time `json:"originalTimestamp,omitzero"`
	// SentAt is when the client says it sent the event, if it said so.
	SentAt time.Time `json:"sentAt,omitzero"`
	// ReceivedAt is when Parcours received the request.
	ReceivedAt time.Time `json:"receivedAt"`

	// SourceID is the source whose write key sent the event.
	SourceID string `json:"sourceId"`
	// Channel is the touchpoint the source stands for (web, ios, pos, ...).
	Channel string `json:"channel"`
	// StoreID is the physical store of a point-of-sale source.
	StoreID string `json:"storeId,omitempty"`

	// Imported marks an event stored by a bulk import (parcours import):
	// history, which updates profiles, segments and timelines but never
	// triggers a journey (see Historical). Clients cannot set it.
	Imported bool `json:"imported,omitempty"`
}

// ID returns the identity the event is about: the user id if known, else the
// anonymous id.
func (e *Event) ID() string {
	if e.UserID != "" {
		return e.UserID
	}
	return e.AnonymousID
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
