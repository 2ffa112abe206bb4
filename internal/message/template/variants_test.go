package template

import (
	"slices"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
)

// TestVariantsFollowTheTable: every channel of the table has a variant,
// and every channel customers text STOP on has a plain-text one for the
// confirmation.
func TestVariantsFollowTheTable(t *testing.T) {
	if got, want := Variants(), channel.Names(nil); !slices.Equal(got, want) {
		t.Errorf("Variants() = %v, want the table's %v", got, want)
	}
	for _, d := range channel.All() {
		tpl, ok := Text(d.Name, "STOP pris en compte")
		if d.Stop && (!ok || !tpl.Has(d.Name)) {
			t.Errorf("%s: STOP is texted on it, but its variant has no plain-text form", d.Name)
		}
		if ok {
			if m, err := tpl.Render(d.Name, nil, Rules{}); err != nil || m.Body != "STOP pris en compte" {
				t.Errorf("%s: Text renders %+v, %v", d.Name, m, err)
			}
		}
	}
}

// TestTagLinksByVariant: each variant says where its links are.
func TestTagLinksByVariant(t *testing.T) {
	tag := func(h string) string { return h + "?utm=x" }
	click := func(h string) string { return "https://t.example/c?u=" + h }
	l := Links{Tag: tag, Click: click}
	tpl := &Template{
		Email:    &Email{Subject: "s", HTML: `<a href="https://a.example/">a</a>`},
		SMS:      &SMS{Body: "https://a.example/"},
		Push:     &Push{Title: "t", Body: "https://a.example/", Link: "https://a.example/"},
		WhatsApp: &WhatsApp{Body: "https://a.example/"},
		Webhook:  &Webhook{Payload: `{"u":"https://a.example/"}`},
	}
	for _, ch := range tpl.Channels() {
		m, err := tpl.Render(ch, nil, Rules{})
		if err != nil {
			t.Fatal(err)
		}
		tpl.TagLinks(m, l)
		var got []string
		switch ch {
		case provider.Email:
			got = []string{m.HTML, m.Text}
		case provider.Push:
			got = []string{m.Body, m.Data["link"]}
		case provider.Webhook:
			got = []string{string(m.Payload)}
		default:
			got = []string{m.Body}
		}
		want := map[provider.Channel][]string{
			provider.Email:    {`<a href="https://t.example/c?u=https://a.example/">a</a>`, "a (https://t.example/c?u=https://a.example/)"},
			provider.SMS:      {"https://a.example/?utm=x"},
			provider.Push:     {"https://a.example/", "https://a.example/?utm=x"},
			provider.WhatsApp: {"https://a.example/?utm=x"},
			provider.Webhook:  {`{"u":"https://a.example/"}`},
		}[ch]
		if !slices.Equal(got, want) {
			t.Errorf("%s: links %q, want %q", ch, got, want)
		}
	}
}

// TestLimitReadsTheDescriptor: a channel's limits are its descriptor's,
// whichever variant renders it.
func TestLimitReadsTheDescriptor(t *testing.T) {
	defer channel.Extend(channel.Descriptor{Name: "fax", Limits: channel.Limits{Body: 10}})()
	probs := Rules{}.Limit(&provider.Message{Channel: "fax", Body: strings.Repeat("x", 11)})
	if len(probs) != 1 || probs[0].Field != "fax.body" || !strings.Contains(probs[0].Message, "11 characters") {
		t.Errorf("problems %+v", probs)
	}
	if probs := (Rules{MaxSMSSegments: 1}).Limit(&provider.Message{Channel: provider.SMS, Body: strings.Repeat("a", 161)}); len(probs) != 1 {
		t.Errorf("max_sms_segments 1: %+v", probs)
	}
}
