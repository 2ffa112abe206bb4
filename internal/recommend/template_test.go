package recommend

import (
	"context"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
)

// tpl is a campaign with recommendations in every channel: the email a
// grid, the SMS one product and a short link, the push one product; each
// with a fallback for a customer with nothing to propose.
const tpl = `{
 "email": {"subject": "Pour vous", "html": "<table><tr>{% for p in recommendations.for_you limit: 3 %}<td><a href=\"{{ p.url }}\"><img src=\"{{ p.image_url }}\">{{ p.name }} {{ p.price }}</a></td>{% else %}<td>Nos nouveautés</td>{% endfor %}</tr>{% for p in recommendations.nobody_defined %}never{% endfor %}</table>"},
 "sms": {"body": "{% for p in recommendations.for_you %}{{ p.name }} à {{ p.price }} EUR {{ p.url }}{% else %}Nos nouveautés sur shop.example{% endfor %}"},
 "push": {"title": "{% if recommendations.for_you.size > 0 %}{{ recommendations.for_you.first.name }}{% else %}Nos nouveautés{% endif %}", "body": "Pour vous"}
}`

func TestTemplateRendersRecommendationsPerChannel(t *testing.T) {
	r := world(t, nil)
	for _, d := range r.Model.savedDefinitions() {
		t.Fatalf("unexpected definition %v", d)
	}
	// Give the products links: the events of the fixture had none.
	for i := range r.Model.items {
		r.Model.items[i].URL = "https://shop.example/p/" + r.Model.items[i].ID
	}
	tp, err := template.Parse([]byte(tpl))
	if err != nil {
		t.Fatal(err)
	}
	render := func(profile int64, ch provider.Channel) *provider.Message {
		t.Helper()
		recs, err := r.ForTemplate(context.Background(), profile, string(ch), "", tp.Mentions)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := recs["nobody_defined"]; ok {
			t.Fatal("a name nobody defined was computed")
		}
		m, err := tp.Render(ch, template.Data{"recommendations": recs}, template.Rules{})
		if err != nil {
			t.Fatalf("%s: %v", ch, err)
		}
		return m
	}
	// Profile 1 bought A and returned D: B, C, E (B at the price its
	// last event gave, a view at 10).
	email := render(1, provider.Email)
	if n := strings.Count(email.HTML, "<td>"); n != 3 || !strings.Contains(email.HTML, "Product B 10") ||
		!strings.Contains(email.HTML, "rec=for_you") || strings.Contains(email.HTML, "never") {
		t.Errorf("email grid: %s", email.HTML)
	}
	sms := render(1, provider.SMS)
	if !strings.HasPrefix(sms.Body, "Product B à 10 EUR https://shop.example/p/B?rec=for_you") || strings.Contains(sms.Body, "Product C") {
		t.Errorf("sms names one product: %q", sms.Body)
	}
	if push := render(1, provider.Push); push.Title != "Product B" {
		t.Errorf("push title: %q", push.Title)
	}
	// Nothing to propose (an empty model): every channel falls back.
	r.Model = NewModel(Options{})
	if m := render(3, provider.Email); !strings.Contains(m.HTML, "<td>Nos nouveautés</td>") {
		t.Errorf("empty email: %s", m.HTML)
	}
	if m := render(3, provider.SMS); m.Body != "Nos nouveautés sur shop.example" {
		t.Errorf("empty sms: %q", m.Body)
	}
	if m := render(3, provider.Push); m.Title != "Nos nouveautés" {
		t.Errorf("empty push: %q", m.Title)
	}
}
