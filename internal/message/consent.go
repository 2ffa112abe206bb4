package message

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// ConsentChange is a customer's choice about a channel (Topic "") or one
// topic on it.
type ConsentChange struct {
	ProfileID int64            `json:"profile_id"`
	Channel   provider.Channel `json:"channel"`
	Topic     string           `json:"topic,omitempty"`
	Granted   bool             `json:"granted"`
	// Source says where the choice was made: "api", "preference-page",
	// "sms-stop", "identify:<source id>", ...
	Source string `json:"source"`
	// Proof shows the choice: ip, user_agent, form_text, double opt-in
	// token, ...
	Proof map[string]any `json:"proof,omitempty"`
	// At is when the choice was made; zero: now.
	At time.Time `json:"at,omitzero"`
	// Key makes the change idempotent: the same key twice is one change.
	// Empty: a new key.
	Key string `json:"key,omitempty"`
}

// RecordConsent appends a change to the consent ledger and returns the
// record; the current state follows the latest change by time. A change
// whose key the ledger holds already returns the record stored then.
func (p *Pipeline) RecordConsent(ctx context.Context, c ConsentChange) (*store.ConsentRecord, error) {
	rec, err := p.recordConsent(ctx, c)
	if err != nil {
		return nil, err
	}
	if rec.ID == 0 {
		// The key was recorded before (a retry): that record is the
		// change, not the one built again from the retry.
		prior, err := p.st.ConsentRecord(ctx, rec.Key)
		if err != nil {
			return nil, fmt.Errorf("message: consent change %s recorded before: %w", rec.Key, err)
		}
		return prior, nil
	}
	p.announceConsent(ctx, []*store.ConsentRecord{rec})
	return rec, nil
}

// recordConsent appends a change to the ledger, without announcing it,
// with, for a STOP or a grant of the channel that is the customer's own,
// its mark on the channel's stop state (StopTopic), in one transaction.
func (p *Pipeline) recordConsent(ctx context.Context, c ConsentChange) (*store.ConsentRecord, error) {
	rec, err := p.consentRecord(c)
	if err != nil {
		return nil, err
	}
	recs := []*store.ConsentRecord{rec}
	if s := stopMark(rec); s != nil {
		recs = append(recs, s)
	}
	if _, err := p.st.RecordConsents(ctx, recs); err != nil {
		return nil, err
	}
	return rec, nil
}

// stopMark is the stop-state record a consent change implies: a stop
// keyword withdraws it; a grant of the whole channel given through
// RecordConsent (a start keyword, the API, a double opt-in) restores it.
// Identify traits never reach here: a sync replaying an old opt-in does
// not undo a STOP.
func stopMark(rec *store.ConsentRecord) *store.ConsentRecord {
	ch := provider.Channel(rec.Channel)
	if rec.Topic != "" || !stoppable(ch) || (!rec.Granted && rec.Source != string(ch)+"-stop") {
		return nil
	}
	m := *rec
	m.Topic, m.Key = StopTopic, rec.Key+":"+StopTopic
	return &m
}

// consentRecord validates a change and builds its ledger record.
func (p *Pipeline) consentRecord(c ConsentChange) (*store.ConsentRecord, error) {
	if !personal(c.Channel) {
		return nil, fmt.Errorf("%w: channel %q: consent is for %s", ErrInvalid, c.Channel, channel.Or(channel.Names(channel.Descriptor.Personal)))
	}
	if _, ok := p.o.Policy.Topics[c.Topic]; c.Topic != "" && !ok {
		return nil, fmt.Errorf("%w: unknown topic %q (the topics are configured in the message policy)", ErrInvalid, c.Topic)
	}
	if c.Source == "" {
		return nil, fmt.Errorf("%w: a consent change needs its source", ErrInvalid)
	}
	if c.Key == "" {
		c.Key = "x:" + rand.Text()
	}
	rec := &store.ConsentRecord{Key: c.Key, ProfileID: c.ProfileID, Channel: string(c.Channel), Topic: c.Topic,
		Granted: c.Granted, Source: c.Source, At: c.At}
	if rec.At.IsZero() {
		rec.At = p.clock.Now()
	}
	if len(c.Proof) > 0 {
		b, err := json.Marshal(c.Proof)
		if err != nil {
			return nil, fmt.Errorf("%w: proof: %w", ErrInvalid, err)
		}
		rec.Proof = b
	}
	return rec, nil
}

// announceConsent appends a Consent Changed event per record, in one
// commit, so that segments (consent and reachability conditions)
// re-evaluate and the timeline shows the change. A message id derives
// from the change's key: announcing it again adds nothing.
func (p *Pipeline) announceConsent(ctx context.Context, recs []*store.ConsentRecord) {
	if p.sink == nil {
		return
	}
	var events []*event.Event
	for _, rec := range recs {
		if rec.ProfileID == 0 {
			continue
		}
		sum := sha256.Sum256([]byte(rec.Key))
		props, _ := json.Marshal(map[string]any{"profileId": rec.ProfileID, "channel": rec.Channel, "topic": rec.Topic,
			"granted": rec.Granted, "source": rec.Source})
		events = append(events, &event.Event{MessageID: "parcours-consent-" + hex.EncodeToString(sum[:12]), Type: event.Track,
			Event: EventConsentChanged, Properties: props, Timestamp: rec.At, ReceivedAt: p.clock.Now(),
			SourceID: "src_parcours", Channel: profile.InternalChannel})
	}
	if len(events) == 0 {
		return
	}
	if err := p.sink.Submit(ctx, events, nil); err != nil {
		p.log.Warn("message: announce consent changes", "changes", len(events), "err", err)
	}
}

// EventConsentChanged is announced for every consent change.
const EventConsentChanged = "Consent Changed"

// Consent is a profile's current consent and its ledger.
type Consent struct {
	ProfileID int64                 `json:"profile_id"`
	Current   []store.ConsentRecord `json:"current"`
	Ledger    []store.ConsentRecord `json:"ledger"`
	Topics    map[string]Topic      `json:"topics"`
}

// CurrentConsent returns a profile's current consent, without the ledger:
// what a profile lookup shows.
func (p *Pipeline) CurrentConsent(ctx context.Context, prof *profile.Profile) ([]store.ConsentRecord, error) {
	ids, err := p.profileIDs(ctx, prof.ID)
	if err != nil {
		return nil, err
	}
	c := &contact{profile: prof, ids: ids, consent: map[consentKey]store.ConsentRecord{}}
	if err := p.loadConsent(ctx, c); err != nil {
		return nil, err
	}
	out := make([]store.ConsentRecord, 0, len(c.consent))
	for _, r := range c.consent {
		out = append(out, r)
	}
	return out, nil
}

// Consent returns a profile's consent (including that of the profiles
// merged into it).
func (p *Pipeline) Consent(ctx context.Context, profileID int64) (*Consent, error) {
	prof, err := p.st.Profile(ctx, profileID)
	if err != nil {
		return nil, err
	}
	ids, err := p.profileIDs(ctx, prof.ID)
	if err != nil {
		return nil, err
	}
	c := &contact{profile: prof, ids: ids, consent: map[consentKey]store.ConsentRecord{}}
	if err := p.loadConsent(ctx, c); err != nil {
		return nil, err
	}
	out := &Consent{ProfileID: prof.ID, Topics: p.o.Policy.Topics, Current: []store.ConsentRecord{}}
	for _, r := range c.consent {
		out.Current = append(out.Current, r)
	}
	if out.Ledger, err = p.st.ConsentLedger(ctx, ids, 1000); err != nil {
		return nil, err
	}
	return out, nil
}

// profilesOf returns the profiles holding an address of ch, normalised as
// identity resolution does (E.164 phones, lower-case emails).
func (p *Pipeline) profilesOf(ctx context.Context, ch provider.Channel, addr string) ([]int64, error) {
	id, ok := p.addressOf(ch, addr)
	if !ok {
		return nil, nil
	}
	holders, err := p.st.Holders(ctx, []identity.Identifier{id})
	if err != nil {
		return nil, fmt.Errorf("message: profiles of a %s address: %w", ch, err)
	}
	var out []int64
	for _, h := range holders {
		out = append(out, h)
	}
	return out, nil
}

// addressOf is the identifier of an address of ch, normalised as identity
// resolution does.
func (p *Pipeline) addressOf(ch provider.Channel, addr string) (identity.Identifier, bool) {
	d, _ := channel.Lookup(ch)
	if !d.Personal() {
		return identity.Identifier{}, false
	}
	kind := d.Address
	id, refused := p.o.Rules.Normalize(identity.Raw{Kind: kind, Value: addr})
	if refused != "" {
		id = identity.Identifier{Kind: kind, Value: strings.TrimSpace(addr)}
	}
	return id, true
}
