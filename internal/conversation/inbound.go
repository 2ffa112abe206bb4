package conversation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/store"
)

// Incoming is a message a customer sent.
type Incoming struct {
	// ProfileID is the customer; 0 for a sender no profile holds, who is
	// then known by Contact (their number, email, "anon:ID").
	ProfileID int64
	Contact   string
	Channel   string
	// From is the address they wrote from (kept as the author).
	From    string
	Subject string
	Body    string
	// Key makes it idempotent: the provider's message id.
	Key        string
	Provider   string
	ProviderID string
	// Conversation, when not 0, is the conversation the message answers
	// (an email's reply-to address or In-Reply-To); it is used while it
	// is not resolved.
	Conversation int64
	// Thread is the email's own Message-ID.
	Thread string
	At     time.Time
}

// MaxBody is the longest message body kept, in bytes; beyond, it is cut.
const MaxBody = 64 << 10

// Receive puts a customer's message into their conversation: the one it
// answers if still active, else their active one, else a new one. A
// pending conversation opens again. Receiving the same Key twice adds it
// once (and announces it again under the same event id).
func (s *Service) Receive(ctx context.Context, in Incoming) (*store.Conversation, *store.ConversationMessage, error) {
	if in.Key == "" {
		return nil, nil, invalid("conversation: an inbound message needs a key (the provider's message id)")
	}
	if !utf8.ValidString(in.Body) || strings.IndexByte(in.Body, 0) >= 0 {
		in.Body = strings.ToValidUTF8(strings.ReplaceAll(in.Body, "\x00", ""), "\uFFFD")
	}
	in.Body = clip(in.Body, MaxBody)
	if in.ProfileID > 0 {
		in.Contact = ""
	}
	now := s.o.Clock.Now()
	if in.At.IsZero() || in.At.After(now) {
		in.At = now
	}
	var c *store.Conversation
	if in.Conversation > 0 {
		if got, err := s.st.Conversation(ctx, in.Conversation); err == nil && got.Status != store.ConversationResolved {
			c = got
		}
	}
	if c == nil {
		c = s.newConversation(in.ProfileID, in.Contact, in.Channel, "", in.At)
		c.Subject = clip(in.Subject, 200)
		if _, err := s.st.OpenConversation(ctx, c); err != nil {
			return nil, nil, err
		}
	}
	m := &store.ConversationMessage{ConversationID: c.ID, ProfileID: c.ProfileID, Key: in.Key, Channel: in.Channel,
		Direction: store.DirectionInbound, Author: in.From, Subject: clip(in.Subject, 500), Body: in.Body, Status: "received",
		Provider: in.Provider, ProviderID: in.ProviderID, Thread: in.Thread, CreatedAt: in.At}
	created, err := s.st.AddConversationMessage(ctx, m)
	if err != nil {
		return nil, nil, err
	}
	if !created {
		// Delivered twice: announce it again (the log keeps one).
		return c, m, s.emit(ctx, s.messageEvent(c, m))
	}
	c, err = s.change(ctx, m.ConversationID, func(c *store.Conversation) ([]*event.Event, error) {
		evs := []*event.Event{s.messageEvent(c, m)}
		if m.CreatedAt.After(c.LastMessageAt) {
			c.LastMessageAt, c.Channel = m.CreatedAt, m.Channel
		}
		if c.Status == store.ConversationPending {
			c.Status = store.ConversationOpen
			evs = append(evs, s.statusEvent(c, store.ConversationPending, "customer", m.CreatedAt))
		}
		return evs, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return c, m, nil
}

// inboundKey is the key of an inbound text: the provider's id, or the
// number, text and minute when the provider gave none.
func inboundKey(in message.Inbound, now time.Time) string {
	id := in.ID
	if id == "" {
		id = in.From + "|" + in.Body + "|" + now.UTC().Format("2006-01-02T15:04")
	}
	sum := sha256.Sum256([]byte(string(in.Channel) + "|" + id))
	return fmt.Sprintf("in:%s:%s", in.Channel, hex.EncodeToString(sum[:16]))
}
