package clienteling

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
)

// EventStoreNoteAdded is the event an associate's note becomes, on the
// customer's timeline.
const EventStoreNoteAdded = "Store Note Added"

// NoteSource is the source of the notes' events (Parcours' own).
const NoteSource = profile.ParcoursSource

// StoreChannel is the channel of a note taken in a store: the store's
// touchpoint, as its tills' (a note counts as a visit to the store). A
// note without a store (an agent's) is internal: on the timeline, not
// customer activity.
const StoreChannel = "pos"

// MaxNoteLength is the longest note, in characters.
const MaxNoteLength = 2000

// NoteInput is an associate's note about a customer.
type NoteInput struct {
	Text    string
	StoreID string // the store it was taken in; "" for an agent's
	Author  string // who wrote it (user:ID or key:ID)
	// Key makes the note idempotent: the same key (an Idempotency-Key)
	// adds one event however often it is sent. "": a fresh one.
	Key string
}

// NoteAdded is what AddNote appended.
type NoteAdded struct {
	ProfileID int64     `json:"profile_id"`
	MessageID string    `json:"message_id"`
	Event     string    `json:"event"`
	StoreID   string    `json:"store_id,omitempty"`
	At        time.Time `json:"at"`
}

type noteProps struct {
	ProfileID int64  `json:"profileId,omitempty"`
	Text      string `json:"text"`
	StoreID   string `json:"store_id,omitempty"`
	Author    string `json:"author,omitempty"`
}

// noteKinds are the identifiers a note's event names its customer by, the
// most trusted first, and where in the event each goes.
var noteKinds = []identity.Kind{identity.UserID, identity.LoyaltyID, identity.Email, identity.Phone, identity.StoreCustomerID, identity.AnonymousID}

// AddNote appends the note to the log as a Store Note Added event; unify
// puts it on the customer's timeline, where the next view shows it.
func (s *Service) AddNote(ctx context.Context, p *profile.Profile, in NoteInput) (*NoteAdded, error) {
	if s.Sink == nil {
		return nil, errors.New("clienteling: notes: no event sink wired")
	}
	text := strings.TrimSpace(in.Text)
	switch {
	case text == "":
		return nil, problem.Invalid("text", "is required: what the customer asked, tried on, wants to be called about")
	case !utf8.ValidString(text):
		return nil, problem.Invalid("text", "is not valid UTF-8")
	case utf8.RuneCountInString(text) > MaxNoteLength:
		return nil, problem.Invalid("text", "is "+strconv.Itoa(utf8.RuneCountInString(text))+" characters long: at most "+strconv.Itoa(MaxNoteLength))
	}
	key := in.Key
	if key == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		key = hex.EncodeToString(b)
	}
	sum := sha256.Sum256([]byte(strconv.FormatInt(p.ID, 10) + "\x00" + key))
	now := s.now()
	e := &event.Event{MessageID: "parcours-note-" + hex.EncodeToString(sum[:12]), Type: event.Track, Event: EventStoreNoteAdded,
		Timestamp: now, ReceivedAt: now, SourceID: NoteSource, Channel: StoreChannel, StoreID: in.StoreID}
	props := noteProps{Text: text, StoreID: in.StoreID, Author: in.Author}
	if in.StoreID == "" || !s.identify(e, p) {
		// No store, or nothing to name the customer by in an event:
		// Parcours' own event, which names the profile.
		e.Channel, e.StoreID, props.ProfileID = profile.InternalChannel, "", p.ID
	}
	var err error
	if e.Properties, err = json.Marshal(props); err != nil {
		return nil, fmt.Errorf("clienteling: note: %w", err)
	}
	if err := s.Sink.Submit(ctx, []*event.Event{e}, nil); err != nil {
		return nil, fmt.Errorf("clienteling: note for profile %d: %w", p.ID, err)
	}
	return &NoteAdded{ProfileID: p.ID, MessageID: e.MessageID, Event: EventStoreNoteAdded, StoreID: in.StoreID, At: now}, nil
}

// identify names the customer in e by their most trusted identifier, as
// a till would: unify finds the profile by it.
func (s *Service) identify(e *event.Event, p *profile.Profile) bool {
	for _, k := range noteKinds {
		for _, id := range p.Identifiers {
			if id.Kind != k {
				continue
			}
			switch k {
			case identity.UserID:
				e.UserID = id.Value
			case identity.AnonymousID:
				e.AnonymousID = id.Value
			default:
				e.Context, _ = json.Marshal(map[string]any{"traits": map[string]string{k.Trait(): id.Value}})
			}
			return true
		}
	}
	return false
}
