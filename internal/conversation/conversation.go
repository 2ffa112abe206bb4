// Package conversation is customer service across channels (issue 21):
// one conversation per customer while it is not resolved, whatever they
// write on (SMS, WhatsApp, email, the site's chat) and whatever the staff
// write down (a phone call, a visit in store, an internal note); replies
// through the message pipeline; queues, assignment, SLA timers. Every
// message and change is an event on the customer's timeline.
package conversation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// The channels of conversation messages.
const (
	Email     = "email"
	SMS       = "sms"
	WhatsApp  = "whatsapp"
	Chat      = "chat"
	PhoneNote = "phone_note" // a call, written down by an agent
	StoreNote = "store_note" // a visit or a word in store, written down by staff
	Note      = "note"       // an internal note: never shown to the customer
)

// The events conversations put on the customer's timeline.
const (
	EventMessageReceived = "Conversation Message Received"
	EventMessageSent     = "Conversation Message Sent"
	EventNoteAdded       = "Conversation Note Added"
	EventStatusChanged   = "Conversation Status Changed"
	EventAssigned        = "Conversation Assigned"
	EventMerged          = "Conversation Merged"
	EventSLABreached     = "Conversation SLA Breached"
)

// The SLAs a conversation is timed against.
const (
	SLAFirstResponse = "first_response"
	SLAResolution    = "resolution"
)

// Priorities, lowest first.
var Priorities = []string{"low", "normal", "high", "urgent"}

// WhatsAppWindow is WhatsApp's customer service window: a free-text
// (session) message may go only this long after the customer's last
// message; after it, only an approved template.
const WhatsAppWindow = 24 * time.Hour

// Store is what conversations keep and read; the store engines are one.
type Store interface {
	store.Conversations
	Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error)
	ListUsers(ctx context.Context) ([]*auth.User, error)
}

// Sender sends replies: the message pipeline.
type Sender interface {
	SendService(ctx context.Context, r message.Request, to string, headers map[string]string) (*store.OutboxMessage, error)
}

// Sink receives the events for the timeline (collect.Committer in serve).
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Options configure a Service. Zero values take the defaults.
type Options struct {
	Clock  clock.Clock
	Logger *slog.Logger
	// FirstResponse and Resolution are the SLAs: how long after a
	// conversation opens the first answer and the resolution are due.
	// Defaults 1h and 24h; negative: none.
	FirstResponse, Resolution time.Duration
	// Secret signs the web chat's visitor tokens and the reply-to
	// addresses of emails (required for both).
	Secret []byte
	// ReplyDomain is the domain of the reply-to addresses of the emails
	// agents send (reply+TOKEN@ReplyDomain), whose MX is the inbound SMTP
	// server; "": replies are threaded by In-Reply-To only.
	ReplyDomain string
	// Team is the team of conversations that open without a store;
	// default "service".
	Team string
}

// Service runs the conversations.
type Service struct {
	st   Store
	send Sender
	sink Sink
	o    Options
	log  *slog.Logger
}

// New returns the service. send may be nil (replies then fail: no
// message pipeline), sink too (no events).
func New(st Store, send Sender, sink Sink, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.FirstResponse == 0 {
		o.FirstResponse = time.Hour
	}
	if o.Resolution == 0 {
		o.Resolution = 24 * time.Hour
	}
	if o.Team == "" {
		o.Team = "service"
	}
	return &Service{st: st, send: send, sink: sink, o: o, log: o.Logger}
}

// Error is a refusal the caller can act on (an HTTP 4xx), with what to do.
type Error struct {
	// Code names the refusal: whatsapp_window_closed, invalid, ...
	Code    string
	Message string
	Details map[string]any
}

func (e *Error) Error() string { return e.Message }

// Describe says what the refusal is to a client: a conflict with the
// conversation's state (the WhatsApp window, a reply the pipeline did not
// send), else an invalid input.
func (e *Error) Describe() problem.Problem {
	k := problem.KindInvalid
	if e.Code != "invalid" {
		k = problem.KindConflict
	}
	var details any
	if e.Details != nil {
		details = e.Details
	}
	return problem.Problem{Kind: k, Code: e.Code, Message: e.Message, Details: details}
}

// ErrInvalid is what a refused input matches.
var ErrInvalid = errors.New("conversation: invalid")

// Is makes every Error match ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error {
	return &Error{Code: "invalid", Message: fmt.Sprintf(format, args...)}
}

// newConversation is a conversation opening now, with its SLA timers.
func (s *Service) newConversation(profileID int64, contact, ch, storeID string, at time.Time) *store.Conversation {
	c := &store.Conversation{ProfileID: profileID, Contact: contact, Status: store.ConversationOpen, Priority: "normal",
		Channel: ch, StoreID: storeID, CreatedAt: at, UpdatedAt: at, LastMessageAt: at}
	if storeID == "" {
		c.Team = s.o.Team
	}
	if s.o.FirstResponse > 0 {
		c.FirstResponseDue = at.Add(s.o.FirstResponse)
	}
	if s.o.Resolution > 0 {
		c.ResolutionDue = at.Add(s.o.Resolution)
	}
	return c
}

// change reads conversation id, lets f change it, and writes it at the
// version read, again from the read when another write came between. The
// events f returns are submitted once the change is stored.
func (s *Service) change(ctx context.Context, id int64, f func(c *store.Conversation) ([]*event.Event, error)) (*store.Conversation, error) {
	var err error
	for range 5 {
		var c *store.Conversation
		if c, err = s.st.Conversation(ctx, id); err != nil {
			return nil, err
		}
		evs, ferr := f(c)
		if ferr != nil {
			return nil, ferr
		}
		c.UpdatedAt = s.o.Clock.Now()
		if err = s.st.UpdateConversation(ctx, c); errors.Is(err, store.ErrConflict) {
			continue
		} else if err != nil {
			return nil, err
		}
		return c, s.emit(ctx, evs...)
	}
	return nil, err
}

// emit submits events to the sink.
func (s *Service) emit(ctx context.Context, evs ...*event.Event) error {
	if s.sink == nil || len(evs) == 0 {
		return nil
	}
	if err := s.sink.Submit(ctx, evs, nil); err != nil {
		return fmt.Errorf("conversation: timeline events: %w", err)
	}
	return nil
}

// event is one of the conversation's events for the timeline: an
// internal event carrying the profile (unify puts it on their timeline),
// or, for a sender no profile holds yet, their address (unify resolves
// it). The id makes a repeat one event.
func (s *Service) event(c *store.Conversation, name, id string, at time.Time, props map[string]any) *event.Event {
	props["conversationId"] = c.ID
	e := &event.Event{MessageID: "parcours-conv-" + strconv.FormatInt(c.ID, 10) + "-" + id, Type: event.Track, Event: name,
		Timestamp: at, ReceivedAt: s.o.Clock.Now(), SourceID: unify.SourceID, Channel: profile.InternalChannel}
	switch kind, value, _ := strings.Cut(c.Contact, ":"); {
	case c.ProfileID > 0:
		props["profileId"] = c.ProfileID
	case kind == "anon":
		e.AnonymousID = value
	case strings.HasPrefix(c.Contact, "+"):
		e.Context, _ = json.Marshal(map[string]any{"traits": map[string]string{"phone": c.Contact}})
	case strings.Contains(c.Contact, "@"):
		e.Context, _ = json.Marshal(map[string]any{"traits": map[string]string{"email": c.Contact}})
	}
	e.Properties, _ = json.Marshal(props)
	return e
}

// messageEvent is the event of one conversation message.
func (s *Service) messageEvent(c *store.Conversation, m *store.ConversationMessage) *event.Event {
	name := EventMessageReceived
	switch m.Direction {
	case store.DirectionOutbound:
		name = EventMessageSent
	case store.DirectionNote:
		name = EventNoteAdded
	}
	props := map[string]any{"messageId": m.ID, "channel": m.Channel, "direction": m.Direction, "body": clip(m.Body, 2000)}
	for k, v := range map[string]string{"author": m.Author, "subject": m.Subject, "provider": m.Provider, "storeId": c.StoreID} {
		if v != "" {
			props[k] = v
		}
	}
	if m.Internal {
		props["internal"] = true
	}
	return s.event(c, name, "msg-"+strconv.FormatInt(m.ID, 10), m.CreatedAt, props)
}

// statusEvent is the event of a status change.
func (s *Service) statusEvent(c *store.Conversation, from, by string, at time.Time) *event.Event {
	props := map[string]any{"from": from, "to": c.Status, "by": by}
	if c.StoreID != "" {
		props["storeId"] = c.StoreID
	}
	if c.Assignee != "" {
		props["assignee"] = c.Assignee
	}
	return s.event(c, EventStatusChanged, "status-v"+strconv.FormatInt(c.Version+1, 10), at, props)
}

// clip cuts s to n bytes at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}
