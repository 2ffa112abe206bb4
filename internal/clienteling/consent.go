package clienteling

import (
	"context"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/profile"
)

// consent reads the customer's current consent (theirs and that of the
// profiles merged into them, as the message pipeline does) and the
// suppression of each address: what the associate may promise to send.
func (s *Service) consent(ctx context.Context, p *profile.Profile) ([]ChannelConsent, error) {
	ids := []int64{p.ID}
	if p.Merges > 0 {
		merges, err := s.Profiles.MergeLog(ctx, p.ID)
		if err != nil {
			return nil, fmt.Errorf("clienteling: merges of profile %d: %w", p.ID, err)
		}
		for _, m := range merges {
			if m.Profile == p.ID && m.UndoneAt.IsZero() {
				ids = append(ids, m.Merged)
			}
		}
	}
	states, err := s.Profiles.ConsentState(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("clienteling: consent of profile %d: %w", p.ID, err)
	}
	type key struct{ channel, topic string }
	type choice struct {
		granted bool
		at      time.Time
	}
	latest := map[key]choice{}
	for _, r := range states {
		k := key{r.Channel, r.Topic}
		if old, ok := latest[k]; !ok || r.At.After(old.at) {
			latest[k] = choice{r.Granted, r.At}
		}
	}
	out := []ChannelConsent{}
	for _, d := range channel.All() {
		if !d.Personal() {
			continue
		}
		cc := ChannelConsent{Channel: string(d.Name)}
		addr := ""
		for _, id := range p.Identifiers {
			if id.Kind == d.Address {
				addr = id.Value
				break
			}
		}
		cc.Address = addr != ""
		if c, ok := latest[key{string(d.Name), ""}]; ok {
			g := c.granted
			cc.Granted = &g
		}
		for k, c := range latest {
			if k.channel == string(d.Name) && k.topic != "" {
				if cc.Topics == nil {
					cc.Topics = map[string]bool{}
				}
				cc.Topics[k.topic] = c.granted
			}
		}
		if addr != "" {
			sup, err := s.Profiles.Suppressions(ctx, string(d.Name), []string{addr})
			if err != nil {
				return nil, fmt.Errorf("clienteling: suppression on %s of profile %d: %w", d.Name, p.ID, err)
			}
			if len(sup) > 0 {
				cc.Suppressed = sup[0].Reason + " (" + sup[0].At.Format(time.DateOnly) + ")"
			}
		}
		cc.Marketing = cc.Address && cc.Granted != nil && *cc.Granted && cc.Suppressed == ""
		out = append(out, cc)
	}
	return out, nil
}
