package conversation

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/store"
)

// Reply is what an agent or a member of staff writes in a conversation.
type Reply struct {
	// Author is who writes: the user's email or the key's id.
	Author string
	// Channel is email, sms, whatsapp or chat for an answer to the
	// customer (empty: the channel they last wrote on); phone_note or
	// store_note for what was said on the phone or in store; note for an
	// internal note, never shown to the customer.
	Channel string
	Body    string
	// TemplateID sends a stored template instead of Body: a canned reply
	// (its topic must be transactional, e.g. customer_service), or on
	// WhatsApp outside the 24-hour window an approved template.
	TemplateID string
	// Subject of an email; default "Re: " and the conversation's.
	Subject string
	// Key makes the reply idempotent: the same key twice sends once.
	Key string
	// Status is the conversation's status after an answer: pending
	// (default: waiting for the customer), open or resolved. Notes leave
	// it as it is unless given.
	Status string
}

// IsNote reports whether ch is a channel of notes rather than answers.
func IsNote(ch string) bool { return ch == PhoneNote || ch == StoreNote || ch == Note }

// replyChannels are the channels an answer goes out on.
var replyChannels = map[string]bool{Email: true, SMS: true, WhatsApp: true, Chat: true}

// Reply adds r to conversation id: a note is recorded; an answer is sent
// through the message pipeline (or shown in the chat) and recorded with
// its delivery status, which follows the provider's receipts.
func (s *Service) Reply(ctx context.Context, id int64, r Reply) (*store.Conversation, *store.ConversationMessage, error) {
	c, err := s.st.Conversation(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if r.Key == "" {
		return nil, nil, invalid("key: is required (an idempotency key: the same key twice writes once)")
	}
	if len(r.Key) > 150 {
		return nil, nil, invalid("key: at most 150 characters")
	}
	if r.Channel == "" {
		r.Channel = c.Channel
	}
	if strings.TrimSpace(r.Body) == "" && (r.TemplateID == "" || IsNote(r.Channel)) {
		return nil, nil, invalid("body: is required")
	}
	if len(r.Body) > MaxBody {
		return nil, nil, invalid("body: %d bytes; at most %d", len(r.Body), MaxBody)
	}
	switch r.Status {
	case "", store.ConversationOpen, store.ConversationPending, store.ConversationResolved:
	default:
		return nil, nil, invalid("status: %q is not a status: open, pending or resolved", r.Status)
	}
	if c.Status == store.ConversationResolved && c.MergedInto > 0 {
		return nil, nil, invalid("conversation %d was merged into %d: write there", c.ID, c.MergedInto)
	}
	key := "conv:" + strconv.FormatInt(c.ID, 10) + ":" + r.Key
	if IsNote(r.Channel) {
		return s.note(ctx, c, r, key)
	}
	if !replyChannels[r.Channel] {
		return nil, nil, invalid("channel: %q is not a channel to answer on: email, sms, whatsapp or chat (or phone_note, store_note, note)", r.Channel)
	}
	if c.Status == store.ConversationResolved {
		return nil, nil, invalid("conversation %d is resolved: reopen it (status open) before answering", c.ID)
	}
	now := s.o.Clock.Now()
	m := &store.ConversationMessage{ConversationID: c.ID, ProfileID: c.ProfileID, Key: key, Channel: r.Channel,
		Direction: store.DirectionOutbound, Author: r.Author, Body: r.Body, Status: "queued", CreatedAt: now}
	if r.TemplateID != "" {
		m.Body = "[template " + r.TemplateID + "]"
	}
	var send *message.Request
	var to string
	var headers map[string]string
	if r.Channel != Chat {
		if s.send == nil {
			return nil, nil, errors.New("conversation: no message pipeline to send replies")
		}
		if c.ProfileID == 0 {
			return nil, nil, invalid("conversation %d is with %s, whom no profile holds yet: answers go to profiles (identify them first, or answer on the chat)", c.ID, c.Contact)
		}
		msgs, err := s.st.ConversationMessages(ctx, c.ID)
		if err != nil {
			return nil, nil, err
		}
		if r.Channel == WhatsApp && r.TemplateID == "" {
			if err := s.checkWindow(ctx, c, now); err != nil {
				return nil, nil, err
			}
		}
		to = lastAddress(msgs, r.Channel)
		req := message.Request{ProfileID: c.ProfileID, Channel: provider.Channel(r.Channel), TemplateID: r.TemplateID, Key: key,
			Campaign: "conversation", StoreID: c.StoreID, Data: map[string]any{"reply": r.Body, "conversation_id": c.ID}}
		if r.TemplateID == "" {
			req.Content = replyContent(r.Channel, s.subject(c, r))
		}
		if r.Channel == Email {
			m.Subject = s.subject(c, r)
			m.Thread = threadOf(key)
			if addr := s.ReplyAddress(c.ID); addr != "" {
				headers = map[string]string{"Reply-To": addr}
			}
			if ref := lastThread(msgs); ref != "" {
				if headers == nil {
					headers = map[string]string{}
				}
				headers["In-Reply-To"], headers["References"] = "<"+ref+">", "<"+ref+">"
			}
		}
		send = &req
	} else {
		m.Status = "sent"
	}
	// Recorded first, sent after: a crash between the two leaves a queued
	// message that the same key sends (the pipeline sends a key once).
	if _, err := s.st.AddConversationMessage(ctx, m); err != nil {
		return nil, nil, err
	}
	var notSent error
	if send != nil {
		out, err := s.send.SendService(ctx, *send, to, headers)
		if err != nil {
			return nil, nil, fmt.Errorf("conversation %d: reply on %s: %w", c.ID, r.Channel, err)
		}
		m.OutboxID, m.Status, m.Provider, m.ProviderID = out.ID, out.Status, out.Provider, out.ProviderID
		if err := s.st.SetConversationMessageStatus(ctx, key, out.ID, out.Status, out.ProviderID); err != nil {
			return nil, nil, err
		}
		if out.Status == store.MessageSkipped || out.Status == store.MessageFailed {
			notSent = &Error{Code: "not_sent", Message: fmt.Sprintf("conversation %d: the reply on %s was not sent: %s", c.ID, r.Channel, out.Reason),
				Details: map[string]any{"message_id": m.ID, "outbox_id": out.ID, "status": out.Status, "reason": out.Reason}}
		}
	}
	status := r.Status
	if status == "" {
		status = store.ConversationPending
	}
	c, err = s.change(ctx, c.ID, func(c *store.Conversation) ([]*event.Event, error) {
		evs := []*event.Event{s.messageEvent(c, m)}
		if c.FirstResponseAt.IsZero() {
			c.FirstResponseAt, c.FirstResponseDue = now, time.Time{}
		}
		evs = append(evs, s.setStatus(c, status, r.Author, now)...)
		return evs, nil
	})
	if err != nil {
		return nil, nil, err
	}
	return c, m, notSent
}

// note records a phone or store note, or an internal note.
func (s *Service) note(ctx context.Context, c *store.Conversation, r Reply, key string) (*store.Conversation, *store.ConversationMessage, error) {
	now := s.o.Clock.Now()
	m := &store.ConversationMessage{ConversationID: c.ID, ProfileID: c.ProfileID, Key: key, Channel: r.Channel,
		Direction: store.DirectionNote, Author: r.Author, Body: r.Body, Internal: r.Channel == Note, CreatedAt: now}
	if _, err := s.st.AddConversationMessage(ctx, m); err != nil {
		return nil, nil, err
	}
	c, err := s.change(ctx, c.ID, func(c *store.Conversation) ([]*event.Event, error) {
		evs := []*event.Event{s.messageEvent(c, m)}
		// A call or a word in store answers the customer; an internal
		// note does not.
		if !m.Internal && c.FirstResponseAt.IsZero() {
			c.FirstResponseAt, c.FirstResponseDue = now, time.Time{}
		}
		if r.Status != "" {
			evs = append(evs, s.setStatus(c, r.Status, r.Author, now)...)
		}
		return evs, nil
	})
	return c, m, err
}

// setStatus moves c to status (the resolution SLA ends with it) and
// returns the event, none when it does not change.
func (s *Service) setStatus(c *store.Conversation, status, by string, at time.Time) []*event.Event {
	if c.Status == status {
		return nil
	}
	from := c.Status
	c.Status = status
	switch status {
	case store.ConversationResolved:
		c.ResolvedAt, c.ResolutionDue, c.FirstResponseDue = at, time.Time{}, time.Time{}
	case store.ConversationOpen, store.ConversationPending:
		c.ResolvedAt = time.Time{}
	}
	return []*event.Event{s.statusEvent(c, from, by, at)}
}

// checkWindow refuses a free-text WhatsApp answer outside the 24-hour
// customer service window.
func (s *Service) checkWindow(ctx context.Context, c *store.Conversation, now time.Time) error {
	last, err := s.st.LastInbound(ctx, c.ProfileID, WhatsApp)
	if err != nil {
		return err
	}
	if last.IsZero() {
		return &Error{Code: "whatsapp_window_closed", Message: fmt.Sprintf("whatsapp: profile %d never wrote on WhatsApp, so no customer service window is open: "+
			"only an approved template may go (give template_id naming a template with a whatsapp template variant)", c.ProfileID),
			Details: map[string]any{"profile_id": c.ProfileID}}
	}
	if end := last.Add(WhatsAppWindow); !now.Before(end) {
		return &Error{Code: "whatsapp_window_closed", Message: fmt.Sprintf("whatsapp: the 24-hour customer service window closed at %s "+
			"(the customer last wrote on WhatsApp at %s): only an approved template may go now (give template_id naming a template with a whatsapp template variant)",
			end.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339)),
			Details: map[string]any{"window_closed_at": end.UTC(), "last_customer_message_at": last.UTC()}}
	}
	return nil
}

// WindowEnd is when the WhatsApp customer service window of the profile
// closes (zero: never opened).
func (s *Service) WindowEnd(ctx context.Context, profileID int64) (time.Time, error) {
	if profileID == 0 {
		return time.Time{}, nil
	}
	last, err := s.st.LastInbound(ctx, profileID, WhatsApp)
	if err != nil || last.IsZero() {
		return time.Time{}, err
	}
	return last.Add(WhatsAppWindow), nil
}

func (s *Service) subject(c *store.Conversation, r Reply) string {
	if r.Subject != "" {
		return r.Subject
	}
	if c.Subject == "" {
		return "Re: your message"
	}
	if strings.HasPrefix(strings.ToLower(c.Subject), "re:") {
		return c.Subject
	}
	return "Re: " + c.Subject
}

// replyContent is the inline template of a free-text answer: the text is
// data (data.reply), never Liquid, so that what the agent types is sent
// as typed (escaped in HTML).
func replyContent(ch, subject string) *template.Template {
	switch ch {
	case Email:
		return &template.Template{Email: &template.Email{Subject: strings.ReplaceAll(strings.ReplaceAll(subject, "{", "("), "}", ")"),
			HTML: `<div style="white-space:pre-wrap">{{ data.reply }}</div>`, Text: "{{ data.reply }}"}}
	case SMS:
		return &template.Template{SMS: &template.SMS{Body: "{{ data.reply }}"}}
	case WhatsApp:
		return &template.Template{WhatsApp: &template.WhatsApp{Body: "{{ data.reply }}"}}
	}
	return nil
}

// lastAddress is the address the customer last wrote from on ch: the
// answer goes back there.
func lastAddress(msgs []*store.ConversationMessage, ch string) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Direction == store.DirectionInbound && m.Channel == ch && m.Author != "" {
			return m.Author
		}
	}
	return ""
}

// lastThread is the Message-ID of the conversation's last email.
func lastThread(msgs []*store.ConversationMessage) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Thread != "" && msgs[i].Direction == store.DirectionInbound {
			return msgs[i].Thread
		}
	}
	return ""
}

// threadOf is the left-hand side of the Message-ID the SMTP provider
// gives the email with send key "api:"+key (email.MessageID): a reply
// names it in In-Reply-To, whatever the provider's domain.
func threadOf(key string) string {
	id := email.MessageID("api:"+key, "x")
	return id[:strings.IndexByte(id, '@')]
}

// Delivered is the message pipeline's delivery observer
// (message.Pipeline.OnDelivery): it records the status of the replies.
func (s *Service) Delivered(ctx context.Context, m *store.OutboxMessage, status string, _ time.Time) error {
	key, ok := strings.CutPrefix(m.SendKey, "api:")
	if !ok || !strings.HasPrefix(key, "conv:") {
		return nil
	}
	err := s.st.SetConversationMessageStatus(ctx, key, m.ID, status, m.ProviderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
