package template

import (
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message/provider"
)

// TestWhatsAppReplies: quick replies render their titles like the body,
// and a template refuses more than WhatsApp takes or a button without a
// title.
func TestWhatsAppReplies(t *testing.T) {
	tpl := &Template{WhatsApp: &WhatsApp{Body: "{{ survey.question }}", ListButton: "Noter",
		Replies: []Reply{{ID: "survey:1", Title: "1 {{ survey.low }}"}, {ID: "survey:5", Title: "5"}}}}
	if err := tpl.Check(Rules{}); err == nil || !strings.Contains(err.Error(), "survey.low") {
		// survey.low is no field of survey: the title is checked as the
		// body is.
		t.Fatalf("Check = %v, want survey.low refused", err)
	}
	tpl.WhatsApp.Replies[0].Title = "1 {{ profile.first_name }}"
	if err := tpl.Check(Rules{}); err != nil {
		t.Fatal(err)
	}
	m, err := tpl.Render(provider.WhatsApp, Data{"survey": map[string]any{"question": "Satisfaite ?"}, "profile": map[string]any{"first_name": "Léa"}}, Rules{})
	if err != nil || m.Body != "Satisfaite ?" || len(m.Replies) != 2 || m.Replies[0] != (provider.Reply{ID: "survey:1", Title: "1 Léa"}) || m.ReplyButton != "Noter" {
		t.Fatalf("Render = %+v, %v", m, err)
	}
	var eleven []Reply
	for range 11 {
		eleven = append(eleven, Reply{ID: "x", Title: "x"})
	}
	for _, w := range []*WhatsApp{
		{Body: "x", Replies: eleven},
		{Body: "x", Replies: []Reply{{ID: "a"}}},
		{Body: "x", Replies: []Reply{{Title: "a"}}},
	} {
		if err := (&Template{WhatsApp: w}).Check(Rules{}); err == nil {
			t.Errorf("%+v accepted", w.Replies)
		}
	}
	// A template's quick-reply buttons need only their payloads.
	if err := (&Template{WhatsApp: &WhatsApp{Template: "csat_fr", Language: "fr", Params: []string{"{{ profile.first_name }}"}, Replies: []Reply{{ID: "survey:5"}}}}).Check(Rules{}); err != nil {
		t.Fatalf("template replies: %v", err)
	}
}
