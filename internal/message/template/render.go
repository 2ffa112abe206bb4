package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/osteele/liquid"

	"github.com/parcours/parcours/internal/message/provider"
)

// Rules are the channels' limits.
type Rules struct {
	// MaxSMSSegments is the most segments an SMS may take; default 4.
	MaxSMSSegments int
	// PushTitleMax and PushBodyMax bound push texts in characters;
	// defaults 65 and 240 (what lock screens show without truncating on
	// both platforms).
	PushTitleMax, PushBodyMax int
	// MaxOutput caps one rendered field in bytes; default 256 KiB.
	MaxOutput int
}

func (r *Rules) defaults() {
	if r.MaxSMSSegments <= 0 {
		r.MaxSMSSegments = 4
	}
	if r.PushTitleMax <= 0 {
		r.PushTitleMax = 65
	}
	if r.PushBodyMax <= 0 {
		r.PushBodyMax = 240
	}
	if r.MaxOutput <= 0 {
		r.MaxOutput = 256 << 10
	}
}

// Data are the variables of a rendering: profile, event, store, products,
// message.
type Data map[string]any

// Render renders the variant for ch with d and applies the channel's
// rules. Variables d lacks render empty.
func (t *Template) Render(ch provider.Channel, d Data, r Rules) (*provider.Message, error) {
	r.defaults()
	if !t.Has(ch) {
		return nil, &Error{Problems: []Problem{{Field: string(ch), Message: "the template has no " + string(ch) + " variant"}}}
	}
	rd := renderer{data: liquid.Bindings(d), max: r.MaxOutput}
	m := &provider.Message{Channel: ch}
	switch ch {
	case provider.Email:
		m.Subject = strings.Join(strings.Fields(rd.field("email.subject", t.Email.Subject, false)), " ")
		m.HTML = rd.field("email.html", t.Email.HTML, true)
		m.Text = rd.field("email.text", t.Email.Text, false)
		if m.Text == "" && rd.err == nil {
			m.Text = TextFromHTML(m.HTML)
		}
	case provider.SMS:
		m.Body = rd.field("sms.body", t.SMS.Body, false)
		if rd.err == nil {
			if s := Segments(m.Body); s.Count > r.MaxSMSSegments {
				rd.problem("sms.body", fmt.Sprintf("%d %s segments (%d characters), more than the maximum of %d",
					s.Count, s.Encoding, s.Chars, r.MaxSMSSegments))
			}
		}
	case provider.Push:
		m.Title = rd.field("push.title", t.Push.Title, false)
		m.Body = rd.field("push.body", t.Push.Body, false)
		rd.length("push.title", m.Title, r.PushTitleMax)
		rd.length("push.body", m.Body, r.PushBodyMax)
		if len(t.Push.Data) > 0 || t.Push.Link != "" {
			m.Data = map[string]string{}
			for k, v := range t.Push.Data {
				m.Data[k] = rd.field("push.data."+k, v, false)
			}
			if t.Push.Link != "" {
				m.Data["link"] = rd.field("push.link", t.Push.Link, false)
			}
		}
	case provider.WhatsApp:
		if t.WhatsApp.Template != "" {
			wt := &provider.WhatsAppTemplate{Name: t.WhatsApp.Template, Language: t.WhatsApp.Language}
			for i, p := range t.WhatsApp.Params {
				wt.Params = append(wt.Params, rd.field(fmt.Sprintf("whatsapp.params[%d]", i), p, false))
			}
			m.Template = wt
		} else {
			m.Body = rd.field("whatsapp.body", t.WhatsApp.Body, false)
		}
	case provider.Webhook:
		out := rd.field("webhook.payload", t.Webhook.Payload, false)
		if rd.err == nil {
			if !json.Valid([]byte(out)) {
				rd.problem("webhook.payload", "does not render to valid JSON")
			} else {
				m.Payload = json.RawMessage(out)
			}
		}
	}
	if rd.err != nil {
		return nil, rd.err
	}
	return m, nil
}

type renderer struct {
	data liquid.Bindings
	max  int
	err  *Error
}

func (rd *renderer) problem(field, msg string) {
	if rd.err == nil {
		rd.err = &Error{}
	}
	rd.err.Problems = append(rd.err.Problems, Problem{Field: field, Message: msg})
}

func (rd *renderer) length(field, s string, max int) {
	if n := utf8.RuneCountInString(s); n > max {
		rd.problem(field, fmt.Sprintf("%d characters, more than the maximum of %d", n, max))
	}
}

// errTooLong stops a rendering that passed the output cap.
var errTooLong = errors.New("output too long")

type capWriter struct {
	b   strings.Builder
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, errTooLong
	}
	return w.b.Write(p)
}

// field renders one Liquid field. A field that does not parse was refused
// when the template was saved; it is reported again here all the same.
func (rd *renderer) field(name, src string, html bool) string {
	if src == "" {
		return ""
	}
	tpl, serr := parse(html, src)
	if serr != nil {
		rd.err = &Error{Problems: append(problemsOf(rd.err), Problem{Field: name, Line: serr.LineNumber(), Message: cleanError(serr.Error())})}
		return ""
	}
	w := &capWriter{max: rd.max}
	if serr := execute(tpl, w, rd.data); serr != nil {
		msg := cleanError(serr.Error())
		if errors.Is(serr, errTooLong) || strings.Contains(msg, errTooLong.Error()) {
			msg = fmt.Sprintf("renders more than %d bytes", rd.max)
		}
		rd.err = &Error{Problems: append(problemsOf(rd.err), Problem{Field: name, Line: serr.LineNumber(), Message: msg})}
		return ""
	}
	return w.b.String()
}

func problemsOf(e *Error) []Problem {
	if e == nil {
		return nil
	}
	return e.Problems
}
