package message

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

var zeroTime time.Time

// contact is what decides whether and where a customer can be reached.
type contact struct {
	profile *profile.Profile
	// ids are the profile's id and the ids of the profiles merged into it,
	// whose consent records it inherits.
	ids        []int64
	addr       map[provider.Channel]string
	consent    map[consentKey]store.ConsentRecord
	suppressed map[provider.Channel]string // the reason
}

type consentKey struct{ channel, topic string }

// personal reports whether ch reaches a customer at an address (see
// channel.Descriptor.Personal): not the brand's own endpoint, which has
// no address, consent, suppressions, caps or quiet hours.
func personal(ch provider.Channel) bool {
	d, _ := channel.Lookup(ch)
	return d.Personal()
}

func firstOf(ids []identity.Identifier, kind identity.Kind) string {
	for _, id := range ids {
		if id.Kind == kind {
			return id.Value
		}
	}
	return ""
}

// profileIDs returns a profile's id and those merged into it.
func (p *Pipeline) profileIDs(ctx context.Context, id int64) ([]int64, error) {
	ids := []int64{id}
	merges, err := p.st.MergeLog(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("message: merges of profile %d: %w", id, err)
	}
	for _, m := range merges {
		if m.Profile == id && m.UndoneAt.IsZero() {
			ids = append(ids, m.Merged)
		}
	}
	return ids, nil
}

func (p *Pipeline) contact(ctx context.Context, prof *profile.Profile) (*contact, error) {
	c := &contact{profile: prof, addr: map[provider.Channel]string{}, consent: map[consentKey]store.ConsentRecord{},
		suppressed: map[provider.Channel]string{}}
	var err error
	if c.ids, err = p.profileIDs(ctx, prof.ID); err != nil {
		return nil, err
	}
	for _, d := range channel.All() {
		if !d.Personal() {
			continue
		}
		if a := firstOf(prof.Identifiers, d.Address); a != "" {
			ch := d.Name
			c.addr[ch] = a
			reason, err := p.suppressed(ctx, ch, a)
			if err != nil {
				return nil, err
			}
			if reason != "" {
				c.suppressed[ch] = reason
			}
		}
	}
	if err := p.loadConsent(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (p *Pipeline) loadConsent(ctx context.Context, c *contact) error {
	states, err := p.st.ConsentState(ctx, c.ids)
	if err != nil {
		return fmt.Errorf("message: consent of profile %d: %w", c.ids[0], err)
	}
	for _, s := range states {
		k := consentKey{s.Channel, s.Topic}
		if old, ok := c.consent[k]; !ok || s.At.After(old.At) {
			c.consent[k] = s
		}
	}
	return nil
}

// suppressed returns why an address is suppressed, "" if it is not.
func (p *Pipeline) suppressed(ctx context.Context, ch provider.Channel, addr string) (string, error) {
	s, err := p.st.Suppression(ctx, string(ch), addr)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("message: suppression of a %s address: %w", ch, err)
	}
	return s.Reason + " (" + s.At.Format(time.DateOnly) + ")", nil
}

// consentRefusal says why a marketing message on ch and topic is not
// allowed, "" if it is. A grant of the topic is enough (a double opt-in to
// the newsletter, say), unless the whole channel was withdrawn after it;
// otherwise the channel needs a grant and the topic must not have been
// withdrawn.
func (c *contact) consentRefusal(ch provider.Channel, topic string) string {
	chc, chOK := c.consent[consentKey{string(ch), ""}]
	tc, tOK := c.consent[consentKey{string(ch), topic}]
	if topic != "" && tOK {
		switch {
		case !tc.Granted:
			return "unsubscribed from " + topic + " on " + tc.At.Format(time.DateOnly) + " (" + tc.Source + ")"
		case chOK && !chc.Granted && chc.At.After(tc.At):
			return string(ch) + " consent withdrawn on " + chc.At.Format(time.DateOnly) + " (" + chc.Source + ")"
		}
		return ""
	}
	switch {
	case !chOK:
		return "no " + string(ch) + " marketing consent"
	case !chc.Granted:
		return string(ch) + " consent withdrawn on " + chc.At.Format(time.DateOnly) + " (" + chc.Source + ")"
	}
	return ""
}

// refusal says why a message cannot go to the customer on ch, "" if it can.
// Transactional messages pass marketing opt-outs but never suppressions.
func (p *Pipeline) refusal(c *contact, ch provider.Channel, topic string, transactional bool, tpl *template.Template) string {
	if ch == "" {
		return "no channel available"
	}
	if tpl != nil && !tpl.Has(ch) {
		return "the template has no " + string(ch) + " variant"
	}
	d, ok := channel.Lookup(ch)
	switch {
	case !ok:
		return "unknown channel " + string(ch)
	case !d.Personal():
		return "" // the brand's own endpoint: no address, no consent
	}
	if c.addr[ch] == "" {
		return "no " + string(ch) + " address on the profile"
	}
	if why := c.suppressed[ch]; why != "" {
		return "address suppressed: " + why
	}
	if d.Stop && topic != OptOutTopic {
		if why := c.stoppedOn(ch); why != "" {
			return why
		}
	}
	if !transactional {
		if ch == provider.Email && p.o.BaseURL == "" {
			return ErrNoUnsubscribeURL.Error()
		}
		return c.consentRefusal(ch, topic)
	}
	return ""
}
