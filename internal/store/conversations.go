package store

import (
	"context"
	"slices"
	"time"
)

// The statuses of a conversation. Open and pending are "not resolved": a
// customer has at most one such conversation, across channels.
const (
	ConversationOpen     = "open"
	ConversationPending  = "pending" // waiting for the customer
	ConversationResolved = "resolved"
)

// The directions of a conversation message.
const (
	DirectionInbound  = "inbound"  // the customer wrote
	DirectionOutbound = "outbound" // an agent answered the customer
	DirectionNote     = "note"     // an agent or a store wrote it down: a phone call, a visit, an internal note
)

// Conversations keeps the customer service conversations and their
// messages. The rules (who may write what, when a status changes, the
// SLA) live in internal/conversation; the engines keep rows.
type Conversations interface {
	// OpenConversation sets c to the conversation of c.ProfileID (and
	// c.Contact, for a sender no profile holds) that is not resolved,
	// creating it from c when there is none: created says which. Two
	// calls racing get the same conversation.
	OpenConversation(ctx context.Context, c *Conversation) (created bool, err error)
	// Conversation returns one conversation, or ErrNotFound.
	Conversation(ctx context.Context, id int64) (*Conversation, error)
	// ListConversations returns the conversations q selects, by id.
	ListConversations(ctx context.Context, q ConversationQuery) ([]*Conversation, error)
	// UpdateConversation writes c's changeable fields if the stored
	// conversation is still at c.Version (ErrConflict otherwise: read it
	// again and retry), and sets c.Version to the new version.
	UpdateConversation(ctx context.Context, c *Conversation) error
	// AddConversationMessage stores m unless a message with its Key
	// exists, and sets m to the stored message either way: created is
	// false when the key was there (a provider's callback delivered
	// twice, a reply sent again).
	AddConversationMessage(ctx context.Context, m *ConversationMessage) (created bool, err error)
	// ConversationMessages returns a conversation's messages, oldest
	// first.
	ConversationMessages(ctx context.Context, conversation int64) ([]*ConversationMessage, error)
	// ConversationMessageByThread returns the message whose Thread is
	// thread (an email's Message-ID), or ErrNotFound.
	ConversationMessageByThread(ctx context.Context, thread string) (*ConversationMessage, error)
	// SetConversationMessageStatus records the delivery status of the
	// outbound message with key (and, when not zero or empty, its
	// pipeline message and the provider's id).
	SetConversationMessageStatus(ctx context.Context, key string, outboxID int64, status, providerID string) error
	// MergeConversations moves every message of from into into, and
	// marks from resolved and merged into into.
	MergeConversations(ctx context.Context, from, into int64, at time.Time) error
	// DueConversationSLAs returns up to limit conversations with an SLA
	// due at or before until (first response or resolution), earliest
	// first.
	DueConversationSLAs(ctx context.Context, until time.Time, limit int) ([]*Conversation, error)
	// LastInbound returns when the profile last wrote on ch, in any of
	// its conversations; zero when never.
	LastInbound(ctx context.Context, profile int64, ch string) (time.Time, error)
	// NextAssignee returns the agent after the last one queue gave a
	// conversation to, in the order of agents (round-robin), and records
	// it; "" when agents is empty.
	NextAssignee(ctx context.Context, queue string, agents []string) (string, error)
}

// Conversation is one customer's exchange with the brand's service,
// across channels.
type Conversation struct {
	ID        int64 `json:"id"`
	ProfileID int64 `json:"profile_id"`
	// Contact is the sender's address when no profile holds it
	// (ProfileID 0): "+33612345678", "anon:...".
	Contact  string   `json:"contact,omitempty"`
	Status   string   `json:"status"`
	Team     string   `json:"team,omitempty"`
	StoreID  string   `json:"store_id,omitempty"`
	Assignee string   `json:"assignee,omitempty"`
	Tags     []string `json:"tags"`
	Priority string   `json:"priority"`
	Subject  string   `json:"subject,omitempty"`
	// Channel is the channel the customer last wrote on.
	Channel    string `json:"channel,omitempty"`
	MergedInto int64  `json:"merged_into,omitempty"`
	// Version changes with every write (UpdateConversation).
	Version         int64     `json:"version"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
	LastMessageAt   time.Time `json:"last_message_at,omitzero"`
	FirstResponseAt time.Time `json:"first_response_at,omitzero"`
	ResolvedAt      time.Time `json:"resolved_at,omitzero"`
	// The SLA: when the first response and the resolution are due
	// (zero: met, breached already, or none), and the SLAs breached.
	FirstResponseDue time.Time `json:"first_response_due,omitzero"`
	ResolutionDue    time.Time `json:"resolution_due,omitzero"`
	Breaches         []string  `json:"breaches"`
}

// ConversationMessage is one message of a conversation: what the
// customer wrote, what an agent answered, or a note.
type ConversationMessage struct {
	ID             int64 `json:"id"`
	ConversationID int64 `json:"conversation_id"`
	// ProfileID is the customer's profile (0: unknown sender), for the
	// WhatsApp window (LastInbound).
	ProfileID int64 `json:"profile_id,omitempty"`
	// Key makes adding idempotent: the provider's id of an inbound text,
	// the idempotency key of a reply.
	Key       string `json:"key"`
	Channel   string `json:"channel"`
	Direction string `json:"direction"`
	// Author is who wrote it: the customer's address, or the agent's id.
	Author  string `json:"author"`
	Subject string `json:"subject,omitempty"`
	Body    string `json:"body"`
	// Internal notes are never shown to the customer.
	Internal bool `json:"internal,omitempty"`
	// Status is the delivery status of an outbound message (queued,
	// sent, delivered, failed, ...), "received" for an inbound one.
	Status     string `json:"status,omitempty"`
	Provider   string `json:"provider,omitempty"`
	ProviderID string `json:"provider_id,omitempty"`
	// OutboxID is the message pipeline's message of a reply.
	OutboxID int64 `json:"outbox_id,omitempty"`
	// Thread is the email Message-ID (without brackets) replies refer to
	// in In-Reply-To and References.
	Thread    string    `json:"thread,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// ConversationQuery selects conversations; zero fields do not filter.
// After pages by id.
type ConversationQuery struct {
	// Status: open, pending, resolved, or "active" for open and pending.
	Status    string
	Team      string
	StoreID   string
	Assignee  string
	ProfileID int64
	// Contact is the address of a sender no profile holds.
	Contact  string
	Tag      string
	Priority string
	// Text matches a message's body, case-insensitively.
	Text  string
	After int64
	Limit int
}

// NextInTurn is the agent that comes after last in agents' sorted
// order (the first after the end, or when last was removed): the engines'
// round-robin rule, written once.
func NextInTurn(agents []string, last string) string {
	sorted := slices.Sorted(slices.Values(agents))
	for _, a := range sorted {
		if a > last {
			return a
		}
	}
	return sorted[0]
}

// ListQueryName is the engines' query for q: a store's queue and a
// customer's conversations have queries of their own, whose filter an
// index serves.
func ListQueryName(q ConversationQuery) string {
	switch {
	case q.StoreID != "":
		return "list-conversations-store"
	case q.ProfileID != 0:
		return "list-conversations-profile"
	}
	return "list-conversations"
}
