package message

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/store"
)

// Best asks the pipeline to choose the channel (see best.go).
const Best = channel.Best

// sendable lists the channels a request may name, for errors.
func sendable() string { return channel.Or(append(channel.Names(nil), Best)) }

// Request asks for one message to one customer.
type Request struct {
	ProfileID int64
	// Channel is a channel, or Best.
	Channel provider.Channel
	// Topic is the subscription topic; "" takes the template's.
	Topic string
	// TemplateID names a stored template; Content is an inline one. One
	// of them is needed.
	TemplateID string
	Content    *template.Template
	// Event holds the triggering event's properties (templates: event,
	// and order when they have an order_id), Data extra template
	// variables (store, products). StoreID is the store the message is
	// about (templates: store); empty: the event's store_id property,
	// else the order's store, else the customer's nearest store.
	Event   map[string]any
	Data    map[string]any
	StoreID string

	// The send key: a journey step's (Journey, Version, Step, Enrolment),
	// or for one-off sends the caller's idempotency Key.
	Journey   string
	Version   int
	Step      string
	Enrolment string
	Key       string
	// Campaign names the journey or campaign for UTM parameters; default
	// the journey.
	Campaign string

	confirmURL string // double opt-in: message.confirm_url
	optOut     bool   // the confirmation of a STOP (OptOutTopic)
	to         string // the address, instead of the profile's first

	// headers are extra email headers (a conversation's Reply-To).
	headers map[string]string
}

// SendKey returns the request's send key: the same request twice (a retry,
// a restart, a replayed journey step) has the same key, and the outbox
// holds one message per key.
func (r *Request) SendKey() (string, error) {
	switch {
	case r.Journey != "":
		if r.Step == "" || r.Enrolment == "" {
			return "", fmt.Errorf("%w: a journey send needs its step and enrolment for its send key", ErrInvalid)
		}
		return "journey:" + r.Journey + ":v" + strconv.Itoa(r.Version) + ":" + r.Step + ":p" +
			strconv.FormatInt(r.ProfileID, 10) + ":" + r.Enrolment, nil
	case r.Key != "":
		if len(r.Key) > 200 {
			return "", fmt.Errorf("%w: idempotency key longer than 200 characters", ErrInvalid)
		}
		if strings.ContainsRune(r.Key, 0) {
			// Link tokens end the send key at its first NUL: a key holding
			// one would make tokens that verify for another message.
			return "", fmt.Errorf("%w: idempotency key holds a NUL character; use printable characters", ErrInvalid)
		}
		return "api:" + r.Key, nil
	}
	return "", fmt.Errorf("%w: an idempotency key is needed (a retry must not send twice)", ErrInvalid)
}

// Send puts the requested message in the outbox and returns it. The
// message is checked (address, suppressions, consent) and rendered now; a
// refused one is recorded as skipped with its reason, a marketing one in
// the customer's quiet hours is deferred. Sending the same key again
// returns the message already there.
func (p *Pipeline) Send(ctx context.Context, r Request) (*store.OutboxMessage, error) {
	key, err := r.SendKey()
	if err != nil {
		return nil, err
	}
	if m, err := p.st.MessageByKey(ctx, key); err == nil {
		return m, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err := p.checkRequest(&r); err != nil {
		return nil, err
	}
	tpl, err := p.requestTemplate(ctx, &r, nil)
	if err != nil {
		return nil, err
	}
	prof, err := p.st.Profile(ctx, r.ProfileID)
	if err != nil {
		return nil, fmt.Errorf("message: profile %d: %w", r.ProfileID, err)
	}
	c, err := p.contact(ctx, prof)
	if err != nil {
		return nil, err
	}
	m, err := p.compose(ctx, r, key, tpl, c)
	if err != nil {
		return nil, err
	}
	if err := p.enqueue(ctx, m); err != nil {
		return nil, err
	}
	// Read the message back before waking the workers, so that the caller
	// gets it as it was put in the outbox rather than as a worker leased it.
	out, err := p.st.OutboxMessage(ctx, m.ID)
	poke(p.wake)
	poke(p.notify)
	return out, err
}

// checkRequest refuses a request that cannot be sent whatever the
// customer: no channel, a reserved topic.
func (p *Pipeline) checkRequest(r *Request) error {
	if r.Channel == "" {
		return fmt.Errorf("%w: channel is required (%s)", ErrInvalid, sendable())
	}
	if (r.Topic == OptOutTopic || r.Topic == StopTopic) && !r.optOut {
		return fmt.Errorf("%w: topic %q is reserved for the confirmation of a STOP", ErrInvalid, r.Topic)
	}
	return nil
}

// compose makes the outbox message of r for the customer c: the channel
// (chosen for "best"), and then either the reason it is refused
// (skipped), or the rendering, deferred out of quiet hours. Every rule
// that decides a message's fate at send time is here, for Send and
// SendBatch alike.
func (p *Pipeline) compose(ctx context.Context, r Request, key string, tpl *template.Template, c *contact) (*store.OutboxMessage, error) {
	prof := c.profile
	now := p.clock.Now()
	m := &store.OutboxMessage{
		SendKey: key, ProfileID: prof.ID, Topic: r.Topic, Transactional: p.o.Policy.transactional(r.Topic),
		TemplateID: r.TemplateID, Campaign: r.Campaign, Status: store.MessageQueued, DueAt: now, CreatedAt: now,
	}
	m.UserID, m.AnonymousID = firstOf(prof.Identifiers, identity.UserID), firstOf(prof.Identifiers, identity.AnonymousID)
	if m.Campaign == "" {
		m.Campaign = r.Journey
	}
	if m.Campaign == "" {
		m.Campaign = r.TemplateID
	}
	ch := r.Channel
	if ch == Best {
		ch, m.ChannelReason = p.best(ctx, c, tpl, m.Topic, m.Transactional)
	} else if !channel.Known(ch) {
		return nil, fmt.Errorf("%w: unknown channel %q (%s)", ErrInvalid, ch, sendable())
	}
	m.Channel, m.Address = string(ch), c.addr[ch]
	if r.to != "" && m.Address != "" {
		m.Address = r.to
	}
	switch reason := p.refusal(c, ch, m.Topic, m.Transactional, tpl); {
	case reason != "":
		m.Status, m.Reason, m.DueAt = store.MessageSkipped, reason, zeroTime
	default:
		if err := p.render(ctx, m, c, tpl, r); errors.Is(err, errLookup) {
			return nil, err
		} else if err != nil {
			m.Status, m.Reason, m.DueAt = store.MessageFailed, err.Error(), zeroTime
			break
		}
		if !m.Transactional {
			if due, why := p.quietUntil(c.profile, ch, now); !due.IsZero() {
				m.Status, m.Reason, m.DueAt = store.MessageDeferred, why, due
			}
		}
	}
	return m, nil
}

// requestTemplate returns the request's template, taking its topic when
// the request has none. cache, if not nil, keeps the stored templates a
// batch read and parsed, by id.
func (p *Pipeline) requestTemplate(ctx context.Context, r *Request, cache map[string]*storedTemplate) (*template.Template, error) {
	if r.Content != nil {
		if err := r.Content.Check(p.templateRules()); err != nil {
			return nil, fmt.Errorf("%w: content: %w", ErrInvalid, err)
		}
		return r.Content, nil
	}
	if r.TemplateID == "" {
		return nil, fmt.Errorf("%w: a template_id or inline content is required", ErrInvalid)
	}
	st := cache[r.TemplateID]
	if st == nil {
		st = p.storedTemplate(ctx, r.TemplateID)
		if cache != nil {
			cache[r.TemplateID] = st
		}
	}
	rec, tpl, err := st.rec, st.tpl, st.err
	if err != nil {
		return nil, err
	}
	if r.Topic == "" {
		r.Topic = rec.Topic
	}
	if r.confirmURL == "" && !r.optOut {
		if err := p.topicCarries(r.Topic, rec); err != nil {
			return nil, err
		}
	}
	return tpl, nil
}

// storedTemplate is a stored template read and parsed, or why it could
// not be.
type storedTemplate struct {
	rec *store.TemplateRecord
	tpl *template.Template
	err error
}

func (p *Pipeline) storedTemplate(ctx context.Context, id string) *storedTemplate {
	rec, err := p.st.Template(ctx, id)
	if err != nil {
		return &storedTemplate{err: fmt.Errorf("message: template %s: %w", id, err)}
	}
	tpl, err := template.Parse(rec.Body)
	if err != nil {
		return &storedTemplate{err: fmt.Errorf("message: stored template %s: %w", id, err)}
	}
	return &storedTemplate{rec: rec, tpl: tpl}
}

// topicCarries refuses a promotional template on a transactional topic.
// A stored template declares what it is by its own topic: a transactional
// one (order_updates) makes it transactional; any other, or none, makes
// it promotional. A transactional message passes marketing opt-outs,
// caps and quiet hours, so it must not carry promotion.
func (p *Pipeline) topicCarries(topic string, rec *store.TemplateRecord) error {
	if !p.o.Policy.transactional(topic) || p.o.Policy.transactional(rec.Topic) {
		return nil
	}
	declared := "it declares no topic"
	if rec.Topic != "" {
		declared = fmt.Sprintf("its topic %q is marketing", rec.Topic)
	}
	return fmt.Errorf("%w: template %q is promotional (%s) and cannot be sent on the transactional topic %q, which passes opt-outs: "+
		"give the template a transactional topic if it is a service message, or send it on a marketing topic", ErrInvalid, rec.ID, declared, topic)
}

// CheckSend checks, when a journey is saved, that its send step may send
// the template on the topic: a transactional topic cannot carry a
// promotional template. A template that does not exist yet passes (it is
// checked again at each send).
func (p *Pipeline) CheckSend(ctx context.Context, templateID, topic string) error {
	if topic == "" {
		return nil
	}
	rec, err := p.st.Template(ctx, templateID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("message: template %s: %w", templateID, err)
	}
	return p.topicCarries(topic, rec)
}

// payload decodes a message's rendered payload.
func payload(m *store.OutboxMessage) (*provider.Message, error) {
	var pm provider.Message
	if err := json.Unmarshal(m.Payload, &pm); err != nil {
		return nil, fmt.Errorf("message %d: payload: %w", m.ID, err)
	}
	return &pm, nil
}
