package template

import (
	"fmt"

	"github.com/parcours/parcours/internal/message/provider"
)

// WhatsApp is a session message (Body) or an approved template (Template,
// Language, Params).
type WhatsApp struct {
	Body     string   `json:"body,omitempty"`
	Template string   `json:"template,omitempty"`
	Language string   `json:"language,omitempty"`
	Params   []string `json:"params,omitempty"`
}

func (w *WhatsApp) fields(add func(name, src string, html bool)) {
	add("whatsapp.body", w.Body, false)
	for i, v := range w.Params {
		add(fmt.Sprintf("whatsapp.params[%d]", i), v, false)
	}
}

func (w *WhatsApp) problems() []Problem {
	if (w.Body == "") == (w.Template == "") {
		return []Problem{{Field: "whatsapp", Message: "give either a body (session message) or a template name"}}
	}
	return nil
}

func (w *WhatsApp) render(rd *renderer, m *provider.Message) {
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
