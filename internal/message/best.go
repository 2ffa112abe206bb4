package message

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/profile"
)

// best chooses a channel for a "best" send, and says why: the customer's
// preferred channel (the computed trait: most opens and clicks, else most
// used), then the channels they engaged with most, then the brand's
// fallback order; the first that can reach them (template variant,
// address, not suppressed, consent for marketing) wins.
func (p *Pipeline) best(_ context.Context, c *contact, tpl *template.Template, topic string, transactional bool) (provider.Channel, string) {
	type candidate struct {
		ch  provider.Channel
		why string
	}
	var cands []candidate
	if pref, ok := profile.Computed(c.profile, p.env())["preferred_channel"].(string); ok && channel.Known(provider.Channel(pref)) {
		cands = append(cands, candidate{provider.Channel(pref), "preferred channel"})
	}
	type engaged struct {
		ch string
		n  int
	}
	var es []engaged
	for ch, n := range c.profile.Agg.Engagement {
		if channel.Known(provider.Channel(ch)) && n > 0 {
			es = append(es, engaged{ch, n})
		}
	}
	slices.SortFunc(es, func(a, b engaged) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.ch, b.ch)
	})
	for _, e := range es {
		cands = append(cands, candidate{provider.Channel(e.ch), fmt.Sprintf("most engagement (%d opens and clicks)", e.n)})
	}
	for _, ch := range p.o.Policy.Fallback {
		cands = append(cands, candidate{ch, "fallback order"})
	}
	var passed []string
	seen := map[provider.Channel]bool{}
	for _, cd := range cands {
		if seen[cd.ch] {
			continue
		}
		seen[cd.ch] = true
		if why := p.refusal(c, cd.ch, topic, transactional, tpl); why != "" {
			passed = append(passed, string(cd.ch)+": "+why)
			continue
		}
		reason := string(cd.ch) + ": " + cd.why
		if len(passed) > 0 {
			reason += "; passed over " + strings.Join(passed, ", ")
		}
		return cd.ch, reason
	}
	return "", "no channel reaches the customer: " + strings.Join(passed, ", ")
}
