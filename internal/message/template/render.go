package template

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/osteele/liquid"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
)

// Rules are what a rendering must respect: each channel's limits
// (channel.Limits, from its descriptor) and the output cap.
type Rules struct {
	// MaxSMSSegments overrides the segment limit of the channels that
	// count segments (sms: the message policy's max_sms_segments); 0: the
	// channel's own.
	MaxSMSSegments int
	// MaxOutput caps one rendered field in bytes; default 256 KiB.
	MaxOutput int
}

func (r *Rules) defaults() {
	if r.MaxOutput <= 0 {
		r.MaxOutput = 256 << 10
	}
}

// limits are ch's limits under these rules.
func (r Rules) limits(ch channel.Name) channel.Limits {
	d, _ := channel.Lookup(ch)
	lim := d.Limits
	if lim.Segments > 0 && r.MaxSMSSegments > 0 {
		lim.Segments = r.MaxSMSSegments
	}
	return lim
}

// Limit checks a rendered message against its channel's limits: the
// problems, none if it holds. Render applies it; a sender that changes
// the text afterwards (tagging links lengthens an SMS) applies it again.
func (r Rules) Limit(m *provider.Message) []Problem {
	lim, prefix := r.limits(m.Channel), string(m.Channel)+"."
	var probs []Problem
	if lim.Segments > 0 {
		if s := Segments(m.Body); s.Count > lim.Segments {
			probs = append(probs, Problem{Field: prefix + "body", Message: fmt.Sprintf("%d %s segments (%d characters), more than the maximum of %d",
				s.Count, s.Encoding, s.Chars, lim.Segments)})
		}
	}
	for _, f := range []struct {
		name, text string
		max        int
	}{{"title", m.Title, lim.Title}, {"body", m.Body, lim.Body}} {
		if f.max == 0 {
			continue
		}
		if n := utf8.RuneCountInString(f.text); n > f.max {
			probs = append(probs, Problem{Field: prefix + f.name, Message: fmt.Sprintf("%d characters, more than the maximum of %d", n, f.max)})
		}
	}
	return probs
}

// Data are the variables of a rendering: profile, event, store, products,
// message.
type Data map[string]any

// Render renders the variant for ch with d and applies the channel's
// limits. Variables d lacks render empty.
func (t *Template) Render(ch provider.Channel, d Data, r Rules) (*provider.Message, error) {
	r.defaults()
	v := t.variant(ch)
	if v == nil {
		return nil, &Error{Problems: []Problem{{Field: string(ch), Message: "the template has no " + string(ch) + " variant"}}}
	}
	rd := renderer{data: liquid.Bindings(d), max: r.MaxOutput}
	m := &provider.Message{Channel: ch}
	v.render(&rd, m)
	for _, p := range r.Limit(m) {
		rd.problem(p.Field, p.Message)
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
	tpl, serr := compiled(html, src)
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
