// Package template is the message templates: Liquid (osteele/liquid), one
// variant per channel, checked when saved (syntax, unknown variables and
// filters, with their line and column) and rendered into a
// provider.Message under each channel's limits (its descriptor's
// channel.Limits: SMS segments, push lengths), with an email's plain-text
// part and an output size cap.
package template

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/problem"
)

// Template is a message template: one variant per channel, under the
// channel's name.
type Template struct {
	Email    *Email    `json:"email,omitempty"`
	SMS      *SMS      `json:"sms,omitempty"`
	Push     *Push     `json:"push,omitempty"`
	WhatsApp *WhatsApp `json:"whatsapp,omitempty"`
	Webhook  *Webhook  `json:"webhook,omitempty"`
}

// variant is one channel's content. Each lives in a file of its own
// (email.go, sms.go, ...); the channel's limits are its descriptor's
// (channel.Limits), checked on every variant alike (Rules.Limit).
type variant interface {
	// fields adds its Liquid sources, by name ("sms.body").
	fields(add func(name, src string, html bool))
	// problems are what it lacks whatever the data (an email without a
	// subject).
	problems() []Problem
	// render fills m, rendering each field with rd.
	render(rd *renderer, m *provider.Message)
	// links rewrites the links of a message it rendered.
	links(m *provider.Message, l Links)
}

// variants are the channels that have a template variant, in the
// channel table's order. A channel's variant is a type in a file of its
// own, a field of Template and a line here; text, when the variant can
// hold plain text, makes a template of it alone (the confirmation of a
// STOP on the channel).
var variants = []variantOf{
	{channel.Email, func(t *Template) variant { return opt(t.Email) }, nil},
	{channel.SMS, func(t *Template) variant { return opt(t.SMS) }, func(b string) *Template { return &Template{SMS: &SMS{Body: b}} }},
	{channel.Push, func(t *Template) variant { return opt(t.Push) }, nil},
	{channel.WhatsApp, func(t *Template) variant { return opt(t.WhatsApp) }, func(b string) *Template { return &Template{WhatsApp: &WhatsApp{Body: b}} }},
	{channel.Webhook, func(t *Template) variant { return opt(t.Webhook) }, nil},
}

// variantOf is how a channel's variant is found in a template.
type variantOf struct {
	ch   channel.Name
	of   func(*Template) variant
	text func(body string) *Template // nil: no plain-text form
}

// opt makes an absent variant a nil interface, not a nil pointer in one.
func opt[V any, P interface {
	*V
	variant
}](p P) variant {
	if p == nil {
		return nil
	}
	return p
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

// variant returns the template's variant for ch, nil if it has none.
func (t *Template) variant(ch channel.Name) variant {
	for _, v := range variants {
		if v.ch == ch {
			return v.of(t)
		}
	}
	return nil
}

// Has reports whether the template has a variant for ch.
func (t *Template) Has(ch provider.Channel) bool { return t.variant(ch) != nil }

// Channels lists the channels the template has a variant for, in the
// channel table's order.
func (t *Template) Channels() []provider.Channel {
	var out []provider.Channel
	for _, d := range channel.All() {
		if t.Has(d.Name) {
			out = append(out, d.Name)
		}
	}
	return out
}

// Variants lists the channels a template can have a variant for.
func Variants() []channel.Name {
	return channel.Names(func(d channel.Descriptor) bool {
		return slices.ContainsFunc(variants, func(v variantOf) bool { return v.ch == d.Name })
	})
}

// Text returns a template that says body on ch alone, if ch's variant can
// hold plain text (an SMS, a WhatsApp session message).
func Text(ch channel.Name, body string) (*Template, bool) {
	for _, v := range variants {
		if v.ch == ch && v.text != nil {
			return v.text(body), true
		}
	}
	return nil, false
}

// Links rewrite the links of a rendered message: Tag adds the sender's
// campaign parameters; Click, when set, replaces it where clicks can be
// tracked (an email's links).
type Links struct {
	Tag, Click func(href string) string
}

// TagLinks rewrites the links of m, rendered from the template's variant
// for m.Channel, as that variant places them: an email's in both parts, a
// text's in its body, a push's deep link.
func (t *Template) TagLinks(m *provider.Message, l Links) {
	if v := t.variant(m.Channel); v != nil {
		v.links(m, l)
	}
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
	for _, v := range variants {
		if tv := v.of(t); tv != nil {
			tv.fields(add)
		}
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

// Describe reports an invalid template with its problems, each with its
// field and, for a syntax error, its line and column.
func (e *Error) Describe() problem.Problem {
	return problem.Problem{Kind: problem.KindInvalid, Code: "invalid_template", Message: e.Error(), Details: map[string]any{"problems": e.Problems}}
}

// Problems returns the problems of err if it is a template *Error.
func Problems(err error) []Problem {
	var te *Error
	if errors.As(err, &te) {
		return te.Problems
	}
	return nil
}
