package message

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

// HandleReceipt turns a provider's receipt into an event on the
// customer's timeline (Message Delivered, Bounced, ...). Hard bounces and
// complaints suppress the address; complaints and unsubscribes withdraw
// consent. A receipt handled twice adds nothing: the event's id derives
// from the message and the status.
func (p *Pipeline) HandleReceipt(ctx context.Context, r provider.Receipt) error {
	if r.Provider == "" || r.ProviderID == "" || r.Status == "" {
		return fmt.Errorf("%w: a receipt needs provider, provider_id and status", ErrInvalid)
	}
	if strings.IndexByte(r.ProviderID, 0) >= 0 || !utf8.ValidString(r.ProviderID) {
		// No message has such an id, and PostgreSQL cannot even look it
		// up: a lookup error would answer 503 and the provider would
		// retry the receipt for ever.
		return fmt.Errorf("%w: provider_id %.40q holds a NUL character or bytes that are not UTF-8: no message has such an id", ErrInvalid, r.ProviderID)
	}
	// What the receipt says goes into events: text every engine holds.
	r.Address, r.Code, r.Reason = storable(r.Address), storable(r.Code), storable(r.Reason)
	m, err := p.st.MessageByProviderID(ctx, r.Provider, r.ProviderID)
	if err != nil {
		return fmt.Errorf("message: receipt from %s for message %s: %w", r.Provider, r.ProviderID, err)
	}
	extra := map[string]any{}
	if r.Code != "" {
		extra["code"] = r.Code
	}
	if r.Reason != "" {
		extra["reason"] = r.Reason
	}
	addr := r.Address
	if addr == "" {
		addr = m.Address
	}
	return p.receipt(ctx, m, r.Status, r.At, addr, r.Provider, extra, "")
}

// receipt records what happened to a sent message. suffix tells apart
// events of one status that are distinct (clicks on different links).
func (p *Pipeline) receipt(ctx context.Context, m *store.OutboxMessage, st provider.Status, at time.Time, addr, source string,
	props map[string]any, suffix string) error {
	// The time comes from outside (a bounce mail's Arrival-Date, a
	// provider's timestamp): one the event log could not read back (years
	// outside 1-9999 once in UTC) would make an event no reader of the log
	// can decode; the receipt is recorded at its arrival instead.
	if y := at.UTC().Year(); at.IsZero() || y < 1 || y > 9999 {
		at = p.clock.Now()
	}
	var name string
	switch st {
	case provider.Sent:
		name = EventSent
	case provider.Delivered:
		name = EventDelivered
	case provider.Bounced, provider.SoftBounced:
		name = EventBounced
		props["bounce"] = map[bool]string{true: "hard", false: "soft"}[st == provider.Bounced]
	case provider.Complained, provider.Unsubscribed:
		name = EventUnsubscribed
		if st == provider.Complained {
			props["complaint"] = true
		}
	case provider.Failed:
		name = EventFailed
	case provider.Opened, provider.Read:
		name, st = EventOpened, provider.Opened
	case provider.Clicked:
		name = EventClicked
	default:
		return fmt.Errorf("%w: unknown receipt status %q", ErrInvalid, st)
	}
	if st == provider.Bounced || st == provider.Complained {
		reason := map[provider.Status]string{provider.Bounced: "hard bounce", provider.Complained: "spam complaint"}[st]
		if r, ok := props["reason"].(string); ok {
			reason += ": " + r
		}
		if err := p.st.Suppress(ctx, store.Suppression{Channel: m.Channel, Address: addr, Reason: reasonText(reason), Source: source, At: at}); err != nil {
			return err
		}
	}
	if st == provider.Complained || st == provider.Unsubscribed {
		if err := p.withdraw(ctx, m, string(st), at, nil); err != nil {
			return err
		}
	}
	p.observe(ctx, m, string(st), at)
	id := string(st)
	if suffix != "" {
		id += "-" + suffix
	}
	if p.sink == nil {
		return nil
	}
	return p.sink.Submit(ctx, []*event.Event{p.messageEvent(m, name, id, at, props)}, nil)
}

// withdraw records a message's recipient unsubscribing: from the
// message's topic if it has one, else from its channel's marketing. The
// ledger key derives from the message: a second click is the same change.
func (p *Pipeline) withdraw(ctx context.Context, m *store.OutboxMessage, source string, at time.Time, proof map[string]any) error {
	if !personal(provider.Channel(m.Channel)) {
		return nil // the brand's own endpoint: no consent to withdraw
	}
	_, err := p.RecordConsent(ctx, ConsentChange{ProfileID: m.ProfileID, Channel: provider.Channel(m.Channel), Topic: m.Topic,
		Granted: false, Source: source, At: at, Proof: proof, Key: "unsubscribe:" + m.SendKey})
	return err
}

// Click records a click on a tracked link and returns where to send the
// customer. A token that verifies always gets its target, even when
// recording fails (the error says so): the customer's click must work.
func (p *Pipeline) Click(ctx context.Context, token string) (string, error) {
	key, target, err := p.verify(tokenClick, token)
	if err != nil {
		return "", err
	}
	m, err := p.st.MessageByKey(ctx, key)
	if err != nil {
		return target, fmt.Errorf("message: click on %s: %w", key, err)
	}
	sum := sha256.Sum256([]byte(target))
	return target, p.receipt(ctx, m, provider.Clicked, time.Time{}, m.Address, "tracking",
		map[string]any{"url": target}, hex.EncodeToString(sum[:6]))
}

// Open records the opening of an email (its tracking pixel loaded).
func (p *Pipeline) Open(ctx context.Context, token string) error {
	key, _, err := p.verify(tokenOpen, token)
	if err != nil {
		return err
	}
	m, err := p.st.MessageByKey(ctx, key)
	if err != nil {
		return fmt.Errorf("message: open of %s: %w", key, err)
	}
	return p.receipt(ctx, m, provider.Opened, time.Time{}, m.Address, "tracking", map[string]any{}, "")
}

// Unsubscribe is the one-click unsubscribe (RFC 8058) of a message's
// recipient: no further interaction.
func (p *Pipeline) Unsubscribe(ctx context.Context, token string, proof map[string]any) error {
	m, err := p.tokenMessage(ctx, token)
	if err != nil {
		return err
	}
	if err := p.withdraw(ctx, m, "one-click-unsubscribe", p.clock.Now(), proof); err != nil {
		return err
	}
	return p.receipt(ctx, m, provider.Unsubscribed, time.Time{}, m.Address, "one-click-unsubscribe", map[string]any{}, "")
}

func (p *Pipeline) tokenMessage(ctx context.Context, token string) (*store.OutboxMessage, error) {
	key, _, err := p.verify(tokenUnsubscribe, token)
	if err != nil {
		return nil, err
	}
	m, err := p.st.MessageByKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrBadToken
	}
	return m, err
}

// UnsubscribeByMail handles a mail sent to the List-Unsubscribe mailto:
// address, whose subject is "unsubscribe TOKEN" (as the header asks): the
// same withdrawal as the one-click link. It is for the inbound mail
// handler; from is kept as proof.
func (p *Pipeline) UnsubscribeByMail(ctx context.Context, subject, from string) error {
	f := strings.Fields(subject)
	if len(f) != 2 || !strings.EqualFold(f[0], "unsubscribe") {
		return fmt.Errorf("%w: the subject is not \"unsubscribe TOKEN\"", ErrInvalid)
	}
	return p.Unsubscribe(ctx, f[1], map[string]any{"mailto_from": from})
}

// storable drops NUL characters from a provider's text and replaces bytes
// that are not UTF-8, which PostgreSQL refuses in text.
func storable(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}
