package message

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

func (p *Pipeline) templateRules() template.Rules {
	return template.Rules{MaxSMSSegments: p.o.Policy.MaxSMSSegments}
}

// profileData is the "profile" variable: traits at the top (profile.
// first_name), and under traits, computed and id. Without withComputed,
// computed is empty: working out every computed trait is most of the
// cost, for a template that cannot read them.
func (p *Pipeline) profileData(prof *profile.Profile, withComputed bool) map[string]any {
	traits := make(map[string]any, len(prof.Traits))
	for name, t := range prof.Traits {
		var v any
		if json.Unmarshal(t.Value, &v) == nil {
			traits[name] = v
		}
	}
	out := make(map[string]any, len(traits)+3)
	for k, v := range traits {
		out[k] = v
	}
	out["id"] = prof.ID
	out["traits"] = traits
	if _, set := traits["locale"]; !set && prof.Agg.Locale.Value != "" {
		// The language the customer's devices say they use, when no
		// identify named one: what {{ profile.locale }} switches on.
		out["locale"] = prof.Agg.Locale.Value
	}
	// Through JSON, so that templates see the JSON names (cart items'
	// "name", "price") and plain maps, not Go structs.
	var computed map[string]any
	if withComputed {
		if b, err := json.Marshal(profile.Computed(prof, p.env())); err == nil {
			_ = json.Unmarshal(b, &computed)
		}
	}
	if computed == nil {
		computed = map[string]any{}
	}
	out["computed"] = computed
	return out
}

// env is what computed traits need besides the profile.
func (p *Pipeline) env() *profile.Env {
	env := &profile.Env{Now: p.clock.Now(), Stores: p.o.Stores}
	if p.o.RFM != nil {
		env.RFM = p.o.RFM()
	}
	return env
}

func (p *Pipeline) url(path string) string {
	return strings.TrimSuffix(p.o.BaseURL, "/") + path
}

// data builds a rendering's variables: event (the triggering event's
// properties), order (the order they name), store (what the sender
// passed, else the store the event names, else the customer's nearest),
// products, data, profile and message.
func (p *Pipeline) data(ctx context.Context, m *store.OutboxMessage, prof *profile.Profile, r *Request, tpl *template.Template) (template.Data, error) {
	unsub := p.url("/u/" + p.sign(tokenUnsubscribe, m.SendKey, ""))
	d := template.Data{
		// The computed traits are read by name (profile.computed.…) or
		// stand behind store (the nearest) and products (the cart).
		"profile": p.profileData(prof, tpl.Mentions("computed") || tpl.Mentions("store") || tpl.Mentions("products")),
		"event":   r.Event,
		"message": map[string]any{
			"channel": m.Channel, "topic": m.Topic, "campaign": m.Campaign,
			"unsubscribe_url": unsub, "preferences_url": unsub,
			"links": map[string]any{"unsubscribe": unsub, "preferences": unsub},
		},
	}
	if r.confirmURL != "" {
		d["message"].(map[string]any)["confirm_url"] = r.confirmURL
	}
	if tpl.Mentions("loyalty") {
		d["loyalty"] = loyaltyData(prof, p.clock.Now())
	}
	// Order and store cost reads of commerce: only for a template that
	// can show them (the order names the store when the event does not).
	var order map[string]any
	if tpl.Mentions("order") || tpl.Mentions("store") {
		var err error
		if order, err = p.orderData(ctx, r.Event); err != nil {
			return nil, err
		}
		if order != nil {
			d["order"] = order
		}
	}
	d["data"] = map[string]any{}
	if r.Data != nil {
		// data is everything the sender passed (a journey's promo_code);
		// store and products are also at the top.
		d["data"] = r.Data
		d["store"], d["products"] = r.Data["store"], r.Data["products"]
		if sv, ok := r.Data["survey"]; ok {
			d["survey"] = sv // a survey's invitation: survey.url, survey.question (internal/survey)
		}
	}
	computed := d["profile"].(map[string]any)["computed"].(map[string]any)
	var st map[string]any
	switch s := d["store"].(type) {
	case map[string]any:
		// A copy: completing it must not change the sender's data.
		st = maps.Clone(s)
	case nil:
		// The store the message is about: the one its event names,
		// else the customer's nearest (an abandoned-cart email needs
		// nothing more).
		id := r.StoreID
		if id == "" {
			id = idOf(r.Event["store_id"])
		}
		if id == "" && order != nil {
			id = idOf(order["store_id"])
		}
		if id != "" {
			st = map[string]any{"id": id, "name": id}
		} else if n, ok := computed["nearest_store"].(map[string]any); ok {
			st = maps.Clone(n)
		}
	}
	if st != nil && tpl.Mentions("store") {
		if err := p.completeStore(ctx, st); err != nil {
			return nil, err
		}
		d["store"] = st
	}
	if d["products"] == nil {
		d["products"] = computed["current_cart"]
	}
	if tpl.Mentions("recommendations") {
		recs, err := p.recommendationsData(ctx, prof.ID, m.Channel, st, tpl)
		if err != nil {
			return nil, err
		}
		d["recommendations"] = recs
	}
	return d, nil
}

// render renders the message for its channel, then adds what the
// pipeline owns: UTM parameters on links, click and open tracking and
// the one-click unsubscribe headers (email). The result is m.Payload.
func (p *Pipeline) render(ctx context.Context, m *store.OutboxMessage, c *contact, tpl *template.Template, r Request) error {
	ch := provider.Channel(m.Channel)
	d, err := p.data(ctx, m, c.profile, &r, tpl)
	if err != nil {
		return err
	}
	rules := p.templateRules()
	pm, err := tpl.Render(ch, d, rules)
	if err != nil {
		return err
	}
	pm.Key, pm.Channel, pm.To = m.SendKey, ch, m.Address
	// Links to this server (unsubscribe, preferences, confirmation) are
	// neither tagged nor tracked.
	own := p.url("/")
	tag := func(href string) string {
		if !template.Trackable(href) || (p.o.BaseURL != "" && strings.HasPrefix(href, own)) {
			return href
		}
		return template.AddUTM(href, "parcours", string(ch), m.Campaign)
	}
	// Clicks are tracked where the variant says they can be (an email's
	// links: template.Links.Click).
	track := p.o.BaseURL != ""
	click := func(href string) string {
		href = tag(href)
		if !track || !template.Trackable(href) || (p.o.BaseURL != "" && strings.HasPrefix(href, own)) {
			return href
		}
		return p.url("/t/c/" + p.sign(tokenClick, m.SendKey, href))
	}
	tpl.TagLinks(pm, template.Links{Tag: tag, Click: click})
	// Tagged links lengthen the text: the limits are checked again.
	if probs := rules.Limit(pm); len(probs) > 0 {
		return fmt.Errorf("template: %s: %s, once links are tagged", probs[0].Field, probs[0].Message)
	}
	// Email's own: the open pixel and the List-Unsubscribe headers.
	if ch == provider.Email {
		if track {
			pixel := `<img src="` + p.url("/t/o/"+p.sign(tokenOpen, m.SendKey, "")+".gif") + `" width="1" height="1" alt="" style="display:none">`
			if i := strings.LastIndex(strings.ToLower(pm.HTML), "</body>"); i >= 0 {
				pm.HTML = pm.HTML[:i] + pixel + pm.HTML[i:]
			} else {
				pm.HTML += pixel
			}
		}
		if !m.Transactional && p.o.BaseURL != "" {
			tok := p.sign(tokenUnsubscribe, m.SendKey, "")
			list := "<" + p.url("/u/"+tok) + ">"
			if p.o.UnsubscribeMailto != "" {
				list += ", <mailto:" + p.o.UnsubscribeMailto + "?subject=unsubscribe%20" + tok + ">"
			}
			pm.Headers = map[string]string{"List-Unsubscribe": list, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
		}
		for k, v := range r.headers {
			if pm.Headers == nil {
				pm.Headers = map[string]string{}
			}
			pm.Headers[k] = v
		}
	}
	body, err := json.Marshal(pm)
	if err != nil {
		return fmt.Errorf("message: encode payload: %w", err)
	}
	m.Payload = body
	return nil
}
