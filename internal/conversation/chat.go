package conversation

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// ChatTokenTTL is how long a web chat visitor token opens the chat.
const ChatTokenTTL = 24 * time.Hour

// ErrChatToken is what a visitor token that is forged, altered or expired
// matches.
var ErrChatToken = &problem.Error{Kind: problem.KindUnauthorized, Code: "chat_token",
	Message: "the chat token is not valid or has expired: start a new chat (POST /api/v1/chat/sessions)"}

// chatVisitor is who a visitor token stands for.
type chatVisitor struct {
	anonymousID string
	expires     time.Time
}

// ChatSession is what starting a web chat gives the site's widget.
type ChatSession struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// StartChat gives the visitor with anonymousID (the site's analytics
// anonymous id, so that the chat lands on the profile their browsing
// built) a token for the chat. The token names the visitor, not a
// profile: what the widget shows is only this chat's text.
func (s *Service) StartChat(anonymousID string) (*ChatSession, error) {
	if len(s.o.Secret) == 0 {
		return nil, errors.New("conversation: no secret configured for chat tokens")
	}
	anonymousID = strings.TrimSpace(anonymousID)
	if anonymousID == "" || len(anonymousID) > 200 || strings.ContainsAny(anonymousID, "|\x00") {
		return nil, invalid("anonymous_id: is required: the visitor's analytics anonymous id (1 to 200 characters, no '|')")
	}
	exp := s.o.Clock.Now().Add(ChatTokenTTL).Truncate(time.Second)
	payload := "chat|" + anonymousID + "|" + strconv.FormatInt(exp.Unix(), 10)
	tok := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + s.sign(payload, 16)
	return &ChatSession{Token: tok, ExpiresAt: exp}, nil
}

// visitor checks a token.
func (s *Service) visitor(tok string) (chatVisitor, error) {
	b64, sig, ok := strings.Cut(tok, ".")
	if !ok || len(s.o.Secret) == 0 {
		return chatVisitor{}, ErrChatToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return chatVisitor{}, ErrChatToken
	}
	payload := string(raw)
	if !hmac.Equal([]byte(sig), []byte(s.sign(payload, 16))) {
		return chatVisitor{}, ErrChatToken
	}
	parts := strings.Split(payload, "|")
	if len(parts) != 3 || parts[0] != "chat" {
		return chatVisitor{}, ErrChatToken
	}
	unix, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return chatVisitor{}, ErrChatToken
	}
	v := chatVisitor{anonymousID: parts[1], expires: time.Unix(unix, 0)}
	if !s.o.Clock.Now().Before(v.expires) {
		return chatVisitor{}, ErrChatToken
	}
	return v, nil
}

// who is the profile (or the contact) of a visitor.
func (s *Service) who(ctx context.Context, v chatVisitor) (int64, string, error) {
	h, err := s.st.Holders(ctx, []identity.Identifier{{Kind: identity.AnonymousID, Value: v.anonymousID}})
	if err != nil {
		return 0, "", err
	}
	for _, id := range h {
		return id, "", nil
	}
	return 0, "anon:" + v.anonymousID, nil
}

// ChatSay adds what the visitor wrote to their conversation; key makes a
// resend (the widget retrying) one message.
func (s *Service) ChatSay(ctx context.Context, token, body, key string) (*ChatLine, error) {
	v, err := s.visitor(token)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(body) == "" || len(body) > 4000 {
		return nil, invalid("text: 1 to 4,000 characters")
	}
	if key == "" || len(key) > 100 {
		return nil, invalid("id: is required: the widget's id of the message (1 to 100 characters), so that a retry is one message")
	}
	pid, contact, err := s.who(ctx, v)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(v.anonymousID + "|" + key))
	_, m, err := s.Receive(ctx, Incoming{ProfileID: pid, Contact: contact, Channel: Chat, From: "anon:" + v.anonymousID, Body: body,
		Key: "in:chat:" + hex.EncodeToString(sum[:16])})
	if err != nil {
		return nil, err
	}
	return chatLine(m), nil
}

// ChatLine is one line of the chat as the widget shows it.
type ChatLine struct {
	ID        int64     `json:"id"`
	From      string    `json:"from"` // "you" or "agent"
	Text      string    `json:"text"`
	Status    string    `json:"status,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func chatLine(m *store.ConversationMessage) *ChatLine {
	from := "you"
	if m.Direction == store.DirectionOutbound {
		from = "agent"
	}
	return &ChatLine{ID: m.ID, From: from, Text: m.Body, Status: m.Status, CreatedAt: m.CreatedAt}
}

// ChatLines returns the chat lines of the visitor's active conversation
// after the line with id after: only what was said on the chat, never
// internal notes nor the other channels.
func (s *Service) ChatLines(ctx context.Context, token string, after int64) ([]*ChatLine, error) {
	v, err := s.visitor(token)
	if err != nil {
		return nil, err
	}
	pid, contact, err := s.who(ctx, v)
	if err != nil {
		return nil, err
	}
	q := store.ConversationQuery{Status: "active", ProfileID: pid, Contact: contact, Limit: 1}
	if pid == 0 {
		q.ProfileID = 0
	}
	cs, err := s.st.ListConversations(ctx, q)
	if err != nil {
		return nil, err
	}
	out := []*ChatLine{}
	if len(cs) == 0 {
		return out, nil
	}
	ms, err := s.st.ConversationMessages(ctx, cs[0].ID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.ID > after && m.Channel == Chat && !m.Internal && m.Direction != store.DirectionNote {
			out = append(out, chatLine(m))
		}
	}
	return out, nil
}

// Customers returns the profiles holding a customer identifier:
// "email:ana@example.com", "phone:+33612345678", "user_id:42", or a bare
// email or +number.
func (s *Service) Customers(ctx context.Context, ident string) ([]int64, error) {
	kind, value, ok := strings.Cut(ident, ":")
	switch {
	case !ok && strings.Contains(ident, "@"):
		kind, value = string(identity.Email), ident
	case !ok && strings.HasPrefix(ident, "+"):
		kind, value = string(identity.Phone), ident
	case !ok:
		kind, value = string(identity.UserID), ident
	}
	if kind == string(identity.Email) {
		value = strings.ToLower(strings.TrimSpace(value))
	}
	h, err := s.st.Holders(ctx, []identity.Identifier{{Kind: identity.Kind(kind), Value: value}})
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, id := range h {
		out = append(out, id)
	}
	return out, nil
}
