package template

import (
	"strings"

	"github.com/parcours/parcours/internal/message/provider"
)

// Email is the email variant. Text is generated from HTML when empty.
type Email struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text,omitempty"`
}

func (e *Email) fields(add func(name, src string, html bool)) {
	add("email.subject", e.Subject, false)
	add("email.html", e.HTML, true)
	add("email.text", e.Text, false)
}

func (e *Email) problems() []Problem {
	if e.Subject == "" || e.HTML == "" {
		return []Problem{{Field: "email", Message: "an email needs a subject and html"}}
	}
	return nil
}

func (e *Email) render(rd *renderer, m *provider.Message) {
	m.Subject = strings.Join(strings.Fields(rd.field("email.subject", e.Subject, false)), " ")
	m.HTML = rd.field("email.html", e.HTML, true)
	m.Text = rd.field("email.text", e.Text, false)
	if m.Text == "" && rd.err == nil {
		m.Text = TextFromHTML(m.HTML)
	}
}

// links sends every link of both parts through l.Click: an email's clicks
// can be tracked.
func (e *Email) links(m *provider.Message, l Links) {
	click := l.Click
	if click == nil {
		click = l.Tag
	}
	m.HTML = RewriteLinks(m.HTML, click)
	m.Text = RewriteTextLinks(m.Text, click)
}
