package template

import (
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message/provider"
)

func TestCheckReportsPositions(t *testing.T) {
	tests := []struct {
		name string
		tpl  Template
		want []Problem
	}{
		{"unknown variable", Template{SMS: &SMS{Body: "Hi {{ profile.first_name }},\n  {{ cart.total }} left"}},
			[]Problem{{Field: "sms.body", Line: 2, Column: 6}}},
		{"unknown variable in a tag", Template{Email: &Email{Subject: "x", HTML: "<p>\n{% if customer.vip %}VIP{% endif %}</p>"}},
			[]Problem{{Field: "email.html", Line: 2, Column: 7}}},
		{"syntax error", Template{Push: &Push{Title: "t", Body: "ok\n{{ profile.name | }}"}},
			[]Problem{{Field: "push.body", Line: 2}}},
		{"unknown filter", Template{SMS: &SMS{Body: "{{ profile.name | shout }}"}},
			[]Problem{{Field: "sms.body", Line: 1, Column: 19}}},
		{"huge range", Template{SMS: &SMS{Body: "x\n{% for i in (1..100000000) %}{% endfor %}"}},
			[]Problem{{Field: "sms.body", Line: 2}}},
		{"variable range without limit", Template{SMS: &SMS{Body: "{% for i in (1..event.n) %}{% endfor %}"}},
			[]Problem{{Field: "sms.body", Line: 1}}},
		{"a field order does not have", Template{SMS: &SMS{Body: "Commande {{ order.id }}\n n° {{ order.number }}"}},
			[]Problem{{Field: "sms.body", Line: 2, Column: 8}}},
		{"a field store does not have", Template{SMS: &SMS{Body: "{% if event.x %}{{ store.city | upcase }}{% endif %}"}},
			[]Problem{{Field: "sms.body", Line: 1, Column: 20}}},
		{"order and store fields", Template{SMS: &SMS{Body: `{{ order.id }} {{ order.status }} {{ order.total }} {% for p in order.products %}{{ p.name }}{% endfor %} {{ store.name }}, {{ store.address.city }} {{ data.store.phone }} {{ event.anything }}`}},
			nil},
		{"locals and filters are fine", Template{SMS: &SMS{Body: `{% assign n = profile.first_name | upcase %}{% for i in (1..event.n) limit: 5 %}{{ i }}{% endfor %}{% for p in products limit: 2 %}{{ p.name }} {{ forloop.index }}{% endfor %}{{ n | default: "client" }} {{ message.unsubscribe_url }} {{ event.total | round: 2 }} {{ store.name }}`}},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Problems(tc.tpl.Check(Rules{}))
			if len(got) != len(tc.want) {
				t.Fatalf("problems %+v, want %+v", got, tc.want)
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Field != w.Field || g.Line != w.Line || (w.Column != 0 && g.Column != w.Column) || g.Message == "" {
					t.Errorf("problem %+v, want %+v", g, w)
				}
			}
		})
	}
}

func TestSegments(t *testing.T) {
	tests := []struct {
		body     string
		encoding string
		chars    int
		count    int
	}{
		{strings.Repeat("a", 160), "GSM-7", 160, 1},
		{strings.Repeat("a", 161), "GSM-7", 161, 2},
		{strings.Repeat("a", 306), "GSM-7", 306, 2},
		{strings.Repeat("a", 307), "GSM-7", 307, 3},
		{strings.Repeat("€", 80), "GSM-7", 160, 1}, // extension: two septets each
		{strings.Repeat("€", 81), "GSM-7", 162, 2},
		{"Soldes d'été à -50% !", "GSM-7", 21, 1},
		{strings.Repeat("ê", 70), "UCS-2", 70, 1}, // ê is not GSM-7
		{strings.Repeat("ê", 71), "UCS-2", 71, 2},
		{strings.Repeat("😀", 35), "UCS-2", 70, 1}, // surrogate pairs
		{strings.Repeat("ê", 135), "UCS-2", 135, 3},
		// 152 plain septets then "€": the escape pair moves to segment 2.
		{strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152), "GSM-7", 306, 3},
		{strings.Repeat("a", 151) + "€" + strings.Repeat("a", 153), "GSM-7", 306, 2},
	}
	for _, tc := range tests {
		got := Segments(tc.body)
		if got.Encoding != tc.encoding || got.Chars != tc.chars || got.Count != tc.count {
			t.Errorf("Segments(%.12q…) = %+v, want %s %d chars %d segments", tc.body, got, tc.encoding, tc.chars, tc.count)
		}
	}
}

func TestRenderChannelRules(t *testing.T) {
	d := Data{"profile": map[string]any{"first_name": "<Zoé>"}, "products": []any{map[string]any{"name": "Sac"}}}
	email := &Template{Email: &Email{Subject: "Bonjour\n{{ profile.first_name }}",
		HTML: `<p>Bonjour {{ profile.first_name }},</p><ul>{% for p in products %}<li>{{ p.name }}</li>{% endfor %}</ul><a href="https://shop.example/x?a=1&amp;b=2">Voir</a>`}}
	m, err := email.Render(provider.Email, d, Rules{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.HTML, "Bonjour &lt;Zoé&gt;") {
		t.Errorf("html not escaped: %s", m.HTML)
	}
	if m.Subject != "Bonjour <Zoé>" {
		t.Errorf("subject %q", m.Subject)
	}
	if want := "Bonjour <Zoé>,\n\n- Sac\nVoir (https://shop.example/x?a=1&b=2)"; m.Text != want {
		t.Errorf("text part %q, want %q", m.Text, want)
	}
	long := &Template{SMS: &SMS{Body: strings.Repeat("a", 153*2) + "{{ profile.first_name }}"}}
	if _, err := long.Render(provider.SMS, d, Rules{MaxSMSSegments: 2}); err == nil || !strings.Contains(err.Error(), "3 GSM-7 segments") {
		t.Errorf("long sms: %v", err)
	}
	push := &Template{Push: &Push{Title: strings.Repeat("t", 66), Body: "b", Link: "app://cart"}}
	if _, err := push.Render(provider.Push, d, Rules{}); err == nil || !strings.Contains(err.Error(), "push.title: 66 characters") {
		t.Errorf("long push title: %v", err)
	}
	if err := push.Check(Rules{}); err == nil {
		t.Error("Check accepted a push title over the limit")
	}
	bomb := &Template{SMS: &SMS{Body: "{% for i in (1..1000) %}{% for j in (1..1000) %}xxxxxxxxxx{% endfor %}{% endfor %}"}}
	if _, err := bomb.Render(provider.SMS, nil, Rules{MaxOutput: 1000}); err == nil || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Errorf("output cap: %v", err)
	}
	hook := &Template{Webhook: &Webhook{Payload: `{"name": {{ profile.first_name | json }}}`}}
	if m, err := hook.Render(provider.Webhook, d, Rules{}); err != nil || string(m.Payload) != `{"name": "\u003cZoé\u003e"}` && string(m.Payload) != `{"name": "<Zoé>"}` {
		t.Errorf("webhook: %v %s", err, m.Payload)
	}
}

func TestLinks(t *testing.T) {
	h := `<a class="b" href="https://shop.example/p?x=1&amp;y=2">A</a> <a href='mailto:x@y'>m</a>`
	got := RewriteLinks(h, func(u string) string {
		if !Trackable(u) {
			return u
		}
		return AddUTM(u, "parcours", "email", "spring")
	})
	want := `<a class="b" href="https://shop.example/p?utm_campaign=spring&amp;utm_medium=email&amp;utm_source=parcours&amp;x=1&amp;y=2">A</a> <a href="mailto:x@y">m</a>`
	if got != want {
		t.Errorf("RewriteLinks:\n got %s\nwant %s", got, want)
	}
	if got := RewriteTextLinks("Go https://a.example/x. Now", func(u string) string { return "<" + u + ">" }); got != "Go <https://a.example/x>. Now" {
		t.Errorf("RewriteTextLinks: %s", got)
	}
}
