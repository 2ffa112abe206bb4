package message

import (
	"context"
	"slices"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

// Preferences is what the hosted preference page shows a message's
// recipient: their marketing consent on the message's channel and each
// marketing topic.
type Preferences struct {
	Channel provider.Channel  `json:"channel"`
	Address string            `json:"address"`
	All     bool              `json:"all"` // marketing on the channel at all
	Topics  []TopicPreference `json:"topics"`
}

// TopicPreference is one topic's line on the page.
type TopicPreference struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Subscribed  bool   `json:"subscribed"`
}

// Preferences returns the preferences of the recipient of the message the
// token was made for.
func (p *Pipeline) Preferences(ctx context.Context, token string) (*Preferences, error) {
	m, err := p.tokenMessage(ctx, token)
	if err != nil {
		return nil, err
	}
	c, err := p.consentOf(ctx, m.ProfileID)
	if err != nil {
		return nil, err
	}
	ch := provider.Channel(m.Channel)
	all := c.consent[consentKey{m.Channel, ""}]
	prefs := &Preferences{Channel: ch, Address: maskAddress(m.Address), All: all.Granted}
	for _, name := range p.marketingTopics() {
		_, known := c.consent[consentKey{m.Channel, name}]
		prefs.Topics = append(prefs.Topics, TopicPreference{Name: name, Description: p.o.Policy.Topics[name].Description,
			Subscribed: c.consentRefusal(ch, name) == "" && (known || all.Granted)})
	}
	return prefs, nil
}

// SavePreferences records the choices made on the preference page: only
// the ones that change something go in the ledger.
func (p *Pipeline) SavePreferences(ctx context.Context, token string, all bool, topics map[string]bool, proof map[string]any) error {
	m, err := p.tokenMessage(ctx, token)
	if err != nil {
		return err
	}
	current, err := p.Preferences(ctx, token)
	if err != nil {
		return err
	}
	ch := provider.Channel(m.Channel)
	change := func(topic string, granted bool) error {
		_, err := p.RecordConsent(ctx, ConsentChange{ProfileID: m.ProfileID, Channel: ch, Topic: topic, Granted: granted,
			Source: "preference-page", Proof: proof})
		return err
	}
	if all != current.All {
		if err := change("", all); err != nil {
			return err
		}
	}
	for _, t := range current.Topics {
		if want, ok := topics[t.Name]; ok && all && want != t.Subscribed {
			if err := change(t.Name, want); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Pipeline) marketingTopics() []string {
	var out []string
	for name, t := range p.o.Policy.Topics {
		if !t.Transactional {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (p *Pipeline) consentOf(ctx context.Context, profileID int64) (*contact, error) {
	ids, err := p.profileIDs(ctx, profileID)
	if err != nil {
		return nil, err
	}
	c := &contact{ids: ids, consent: map[consentKey]store.ConsentRecord{}}
	return c, p.loadConsent(ctx, c)
}

// maskAddress shows enough of an address for its owner to recognise it on
// a page reachable by link: "z***@example.com", "+33******78".
func maskAddress(a string) string {
	r := []rune(a)
	if at := slices.Index(r, '@'); at > 0 {
		return string(r[:1]) + "***" + string(r[at:])
	}
	if len(r) > 5 {
		return string(r[:3]) + "******" + string(r[len(r)-2:])
	}
	return "***"
}
