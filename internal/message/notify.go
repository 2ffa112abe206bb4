package message

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// The events the pipeline appends to the log.
const (
	EventSent         = "Message Sent"
	EventDelivered    = "Message Delivered"
	EventBounced      = "Message Bounced"
	EventOpened       = "Message Opened"
	EventClicked      = "Message Clicked"
	EventUnsubscribed = "Message Unsubscribed"
	EventFailed       = "Message Failed"
	EventSkipped      = "Message Skipped"
	EventDeferred     = "Message Deferred"
)

// announce turns outbox state changes into events until ctx ends. The
// outbox row is written first and announced after, so a crash between the
// two loses nothing: the row stays unnotified and is announced at the next
// start, with the same event ids (the log drops the repeat).
func (p *Pipeline) announce(ctx context.Context) {
	t := time.NewTicker(p.o.Poll)
	defer t.Stop()
	for {
		full, err := p.announceOnce(ctx)
		if err != nil && ctx.Err() == nil {
			p.log.Error("messages: announcing message events failed", "err", err)
		}
		if full && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-p.notify:
			// Gather what more comes in the next moment: one write for
			// many messages instead of one per delivery batch (the
			// single SQLite writer is shared with the path to the
			// provider).
			select {
			case <-ctx.Done():
				return
			case <-time.After(announceEvery):
			}
		case <-t.C:
		}
	}
}

// announceEvery is how long announcements wait to be gathered: a message's
// Sent event reaches the log at most this much later.
const announceEvery = 100 * time.Millisecond

const announceBatch = 1000

// announceOnce announces one batch; full says more may be waiting.
func (p *Pipeline) announceOnce(ctx context.Context) (full bool, err error) {
	ms, err := p.st.Unnotified(ctx, announceBatch)
	if err != nil || len(ms) == 0 {
		return false, err
	}
	var events []*event.Event
	for _, m := range ms {
		if e := p.stateEvent(m); e != nil {
			events = append(events, e)
		}
		p.observe(ctx, m, m.Status, m.UpdatedAt)
	}
	if p.sink != nil && len(events) > 0 {
		if err := p.sink.Submit(ctx, events, nil); err != nil {
			return false, err
		}
	}
	return len(ms) == announceBatch, p.st.MarkNotified(ctx, ms)
}

// stateEvent is the event announcing a message's state, nil for states
// that are not announced (queued, retrying, sending).
func (p *Pipeline) stateEvent(m *store.OutboxMessage) *event.Event {
	props := map[string]any{}
	switch m.Status {
	case store.MessageSent:
		return p.messageEvent(m, EventSent, "sent", m.SentAt, props)
	case store.MessageFailed:
		props["reason"] = m.Reason
		return p.messageEvent(m, EventFailed, "failed", m.UpdatedAt, props)
	case store.MessageSkipped:
		props["reason"] = m.Reason
		return p.messageEvent(m, EventSkipped, "skipped", m.UpdatedAt, props)
	case store.MessageDeferred:
		props["reason"], props["until"] = m.Reason, m.DueAt
		return p.messageEvent(m, EventDeferred, "deferred-"+strconv.FormatInt(m.DueAt.Unix(), 10), m.UpdatedAt, props)
	}
	return nil
}

// messageEvent builds one of the pipeline's events about m. Its message id
// derives from the message and what happened (suffix), so that the same
// receipt or state announced twice is one event in the log. Opens and clicks are on the
// message's channel, so that they count as engagement on it; the others
// are internal.
func (p *Pipeline) messageEvent(m *store.OutboxMessage, name, suffix string, at time.Time, props map[string]any) *event.Event {
	// profileId puts the internal events on the timeline (unify reads it
	// from its own channel's events); opens and clicks go through identity
	// resolution like any customer event, by user id or address.
	props["profileId"], props["messageId"], props["sendKey"], props["channel"] = m.ProfileID, m.ID, m.SendKey, m.Channel
	for k, v := range map[string]string{"topic": m.Topic, "templateId": m.TemplateID, "campaign": m.Campaign,
		"provider": m.Provider, "providerId": m.ProviderID} {
		if v != "" {
			props[k] = v
		}
	}
	props["transactional"] = m.Transactional
	body, _ := json.Marshal(props)
	on := profile.InternalChannel
	if name == EventOpened || name == EventClicked {
		on = m.Channel
	}
	e := &event.Event{
		MessageID: "parcours-msg-" + strconv.FormatInt(m.ID, 10) + "-" + suffix,
		Type:      event.Track, Event: name, Properties: body,
		UserID: m.UserID, AnonymousID: m.AnonymousID,
		Timestamp: at, ReceivedAt: p.clock.Now(), SourceID: unify.SourceID, Channel: on,
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = e.ReceivedAt
	}
	if e.UserID == "" && e.AnonymousID == "" && m.Address != "" {
		// The address under its trait, for unify to find the customer.
		if d, _ := channel.Lookup(provider.Channel(m.Channel)); d.Address.Trait() != "" {
			e.Context, _ = json.Marshal(map[string]any{"traits": map[string]string{d.Address.Trait(): m.Address}})
		}
	}
	return e
}
