// Package template is the message templates: Liquid (osteele/liquid), one
// variant per channel, checked when saved (syntax, unknown variables and
// filters, with their line and column) and rendered into a
// provider.Message under each channel's rules (SMS segments, push lengths,
// email plain-text part, output size cap).
package template

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/parcours/parcours/internal/message/provider"
)

// Template is a message template: one variant per channel.
type Template struct {
	Email    *Email    `json:"email,omitempty"`
	SMS      *SMS      `json:"sms,omitempty"`
	Push     *Push     `json:"push,omitempty"`
	WhatsApp *WhatsApp `json:"whatsapp,omitempty"`
	Webhook  *Webhook  `json:"webhook,omitempty"`
}

// Email is the email variant. Text is generated from HTML when empty.
type Email struct {
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text,omitempty"`
}

// SMS is the SMS variant.
type SMS struct {
	Body string `json:"body"`
}

// Push is the mobile push variant. Link is a deep link; Data extra keys.
type Push struct {
	Title string            `json:"title"`
	Body  string            `json:"body"`
	Link  string            `json:"link,omitempty"`
	Data  map[string]string `json:"data,omitempty"`
}

// WhatsApp is a session message (Body) or an approved template (Template,
// Language, Params).
type WhatsApp struct {
	Body     string   `json:"body,omitempty"`
	Template string   `json:"template,omitempty"`
	Language string   `json:"language,omitempty"`
	Params   []string `json:"params,omitempty"`
}

// Webhook is a JSON payload template: it must render to valid JSON.
type Webhook struct {
	Payload string `json:"payload"`
}

// Parse decodes a stored template (no checks: see Check).
func Parse(body []byte) (*Template, error) {
	var t Template
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return &t, nil
}

// Has reports whether the template has a variant for ch.
func (t *Template) Has(ch provider.Channel) bool {
	switch ch {
	case provider.Email:
		return t.Email != nil
	case provider.SMS:
		return t.SMS != nil
	case provider.Push:
		return t.Push != nil
	case provider.WhatsApp:
		return t.WhatsApp != nil
	case provider.Webhook:
		return t.Webhook != nil
	}
	return false
}

// Channels lists the channels the template has a variant for.
func (t *Template) Channels() []provider.Channel {
	var out []provider.Channel
	for _, ch := range []provider.Channel{provider.Email, provider.SMS, provider.Push, provider.WhatsApp, provider.Webhook} {
		if t.Has(ch) {
			out = append(out, ch)
		}
	}
	return out
}

// Mentions reports whether any field of the template contains word: a
// cheap test (false positives are fine) that lets a sender skip building
// variables no field can read.
func (t *Template) Mentions(word string) bool {
	for _, f := range t.fields() {
		if strings.Contains(f.src, word) {
			return true
		}
	}
	return false
}

// field is one Liquid source of a template: its name (sms.body) and text.
type field struct {
	name, src string
	html      bool // rendered with HTML escaping
}

func (t *Template) fields() []field {
	var fs []field
	add := func(name, src string, html bool) {
		if src != "" {
			fs = append(fs, field{name, src, html})
		}
	}
	if e := t.Email; e != nil {
		add("email.subject", e.Subject, false)
		add("email.html", e.HTML, true)
		add("email.text", e.Text, false)
	}
	if s := t.SMS; s != nil {
		add("sms.body", s.Body, false)
	}
	if p := t.Push; p != nil {
		add("push.title", p.Title, false)
		add("push.body", p.Body, false)
		add("push.link", p.Link, false)
		for k, v := range p.Data {
			add("push.data."+k, v, false)
		}
	}
	if w := t.WhatsApp; w != nil {
		add("whatsapp.body", w.Body, false)
		for i, v := range w.Params {
			add(fmt.Sprintf("whatsapp.params[%d]", i), v, false)
		}
	}
	if w := t.Webhook; w != nil {
		add("webhook.payload", w.Payload, false)
	}
	return fs
}

// Problem is one error in a template, with its position in a field.
type Problem struct {
	Field   string `json:"field"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", p.Field, p.Line, p.Column, p.Message)
	}
	return p.Field + ": " + p.Message
}

// Error lists a template's problems.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return "template: " + strings.Join(parts, "; ")
}

// Problems returns the problems of err if it is a template *Error.
func Problems(err error) []Problem {
	var te *Error
	if errors.As(err, &te) {
		return te.Problems
	}
	return nil
}
