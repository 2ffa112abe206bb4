package template

import (
	"fmt"

	"github.com/parcours/parcours/internal/message/provider"
)

// WhatsApp is a session message (Body) or an approved template (Template,
// Language, Params), with quick replies (Replies).
type WhatsApp struct {
	Body     string   `json:"body,omitempty"`
	Template string   `json:"template,omitempty"`
	Language string   `json:"language,omitempty"`
	Params   []string `json:"params,omitempty"`
	// Replies are quick replies: under a session message, reply buttons
	// (up to 3, titles up to 20 characters) or list rows (up to 10,
	// titles up to 24) opened by a button labelled ListButton; with a
	// template, the payloads (ids) of its quick-reply buttons, in order.
	// A survey's are ids "survey:N" (internal/survey).
	Replies    []Reply `json:"replies,omitempty"`
	ListButton string  `json:"list_button,omitempty"`
}

// Reply is a quick reply: the id the tap comes back with, its title
// (Liquid, like the body).
type Reply struct {
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
}

// maxReplies is the most quick replies a message holds: the rows of a
// list message, the quick-reply buttons of a template.
const maxReplies = 10

func (w *WhatsApp) fields(add func(name, src string, html bool)) {
	add("whatsapp.body", w.Body, false)
	for i, v := range w.Params {
		add(fmt.Sprintf("whatsapp.params[%d]", i), v, false)
	}
	for i, r := range w.Replies {
		add(fmt.Sprintf("whatsapp.replies[%d].title", i), r.Title, false)
	}
	add("whatsapp.list_button", w.ListButton, false)
}

func (w *WhatsApp) problems() []Problem {
	if (w.Body == "") == (w.Template == "") {
		return []Problem{{Field: "whatsapp", Message: "give either a body (session message) or a template name"}}
	}
	if len(w.Replies) > maxReplies {
		return []Problem{{Field: "whatsapp.replies", Message: fmt.Sprintf("%d quick replies: WhatsApp takes up to %d (3 buttons, or a list of 10)", len(w.Replies), maxReplies)}}
	}
	for i, r := range w.Replies {
		if r.ID == "" || len(r.ID) > 200 {
			return []Problem{{Field: fmt.Sprintf("whatsapp.replies[%d].id", i), Message: "is required, up to 200 bytes"}}
		}
		if w.Template == "" && r.Title == "" {
			return []Problem{{Field: fmt.Sprintf("whatsapp.replies[%d].title", i), Message: "is required under a session message: the text on the button"}}
		}
	}
	return nil
}

func (w *WhatsApp) render(rd *renderer, m *provider.Message) {
	for i, r := range w.Replies {
		m.Replies = append(m.Replies, provider.Reply{ID: r.ID, Title: rd.field(fmt.Sprintf("whatsapp.replies[%d].title", i), r.Title, false)})
	}
	if w.ListButton != "" {
		m.ReplyButton = rd.field("whatsapp.list_button", w.ListButton, false)
	}
	if w.Template == "" {
		m.Body = rd.field("whatsapp.body", w.Body, false)
		return
	}
	wt := &provider.WhatsAppTemplate{Name: w.Template, Language: w.Language}
	for i, p := range w.Params {
		wt.Params = append(wt.Params, rd.field(fmt.Sprintf("whatsapp.params[%d]", i), p, false))
	}
	m.Template = wt
}

// links tags the links of a session message's text; an approved
// template's text is Meta's.
func (w *WhatsApp) links(m *provider.Message, l Links) { m.Body = RewriteTextLinks(m.Body, l.Tag) }
