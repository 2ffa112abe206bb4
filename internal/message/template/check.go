package template

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/render"

	"github.com/parcours/parcours/internal/channel"
)

// Roots are the variables a template may use.
var Roots = []string{"profile", "event", "order", "store", "products", "message", "data", "survey",
	// recommendations.NAME: a named recommendation's products (internal/recommend,
	// docs/recommend.md).
	"recommendations"}

// Fields are the properties of the roots whose shape Parcours fixes (what
// the pipeline fills in them): any other is refused when the template is
// saved, since it would always be empty. Extra store fields a sender
// passes are read under data ({{ data.store.phone }}).
var Fields = map[string][]string{
	"order": {"id", "status", "total", "currency", "store_id", "products", "fulfilment", "channel", "created_at", "updated_at"},
	"store": {"id", "name", "kind", "address", "lat", "lon", "time_zone", "opening_hours", "distance_km", "available", "sku"},
	// survey: a survey's invitation (internal/survey: a send step with a
	// survey, or a survey sent after a contact).
	"survey": {"id", "type", "url", "question", "comment", "language", "min", "max", "reply_hint", "expires_at"},
}

// keywords are the words of Liquid expressions that are not variables.
var keywords = map[string]bool{
	"and": true, "or": true, "not": true, "contains": true, "in": true, "true": true, "false": true,
	"nil": true, "null": true, "empty": true, "blank": true, "reversed": true, "with": true, "as": true,
	"forloop": true, "tablerowloop": true,
}

var engines = func() (e struct{ plain, html *liquid.Engine }) {
	e.plain, e.html = liquid.NewEngine(), liquid.NewEngine()
	e.html.SetAutoEscapeReplacer(render.HtmlEscaper)
	return e
}()

func engine(html bool) *liquid.Engine {
	if html {
		return engines.html
	}
	return engines.plain
}

// Check parses every field and reports, with line and column, syntax
// errors, filters that do not exist and variables outside Roots (and the
// template's own assign/capture/for variables); then the channel rules
// that hold whatever the data (an SMS whose fixed text alone is too long).
func (t *Template) Check(r Rules) error {
	r.defaults()
	var probs []Problem
	fields := t.fields()
	if len(fields) == 0 {
		probs = append(probs, Problem{Field: "template", Message: "no channel variant (" + channel.Or(Variants()) + ")"})
	}
	for _, f := range fields {
		probs = append(probs, checkField(f)...)
	}
	for _, v := range variants {
		if tv := v.of(t); tv != nil {
			probs = append(probs, tv.problems()...)
		}
	}
	if len(probs) == 0 {
		// Rendered without data, variables are empty: what remains is the
		// fixed text, which must already respect the channel's limits.
		// Errors that come from the missing data (a range over an
		// absent number, JSON with an empty value) are not the
		// template's: only the length limits are kept.
		for _, ch := range t.Channels() {
			if _, err := t.Render(ch, nil, r); err != nil {
				for _, p := range Problems(err) {
					if strings.Contains(p.Message, "more than the maximum") {
						probs = append(probs, p)
					}
				}
			}
		}
	}
	if len(probs) > 0 {
		return &Error{Problems: probs}
	}
	return nil
}

var lineInError = regexp.MustCompile(`\(line (\d+)\)`)

func checkField(f field) []Problem {
	tpl, serr := parse(f.html, f.src)
	if serr != nil {
		p := Problem{Field: f.name, Message: cleanError(serr.Error())}
		p.Line, p.Column = locate(f.src, serr.Error(), serr.LineNumber())
		return []Problem{p}
	}
	w := walker{src: f.src, locals: map[string]bool{}}
	w.collectLocals(tpl.GetRoot())
	w.walk(tpl.GetRoot(), 0)
	for i := range w.probs {
		w.probs[i].Field = f.name
	}
	return w.probs
}

// cleanError drops the engine's "Liquid error (line N): " prefix: the
// position is reported apart.
func cleanError(s string) string {
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "Liquid") {
		return s[i+2:]
	}
	return s
}

var quoted = regexp.MustCompile(`"([^"]+)"`)

// locate finds in src the text the engine's message quotes (the tag or
// object in error, else a quoted name such as a filter's), for the line and
// column the engine does not always give.
func locate(src, msg string, line int) (int, int) {
	if m := lineInError.FindStringSubmatch(msg); m != nil && line == 0 {
		line, _ = strconv.Atoi(m[1])
	}
	var candidates []string
	if i := strings.LastIndex(msg, " in {"); i >= 0 {
		candidates = append(candidates, msg[i+4:])
	}
	for _, q := range quoted.FindAllStringSubmatch(msg, -1) {
		candidates = append(candidates, q[1])
	}
	for _, c := range candidates {
		if at := strings.Index(src, c); at >= 0 {
			if c == msg[strings.LastIndex(msg, " in {")+4:] {
				// The whole token: point at the first quoted part inside it.
				for _, q := range quoted.FindAllStringSubmatch(msg, -1) {
					if k := strings.Index(src[at:at+len(c)], strings.TrimSpace(strings.TrimSuffix(q[1], "|"))); k >= 0 && q[1] != c {
						at += k
						break
					}
				}
			}
			start := strings.LastIndexByte(src[:at], '\n') + 1
			return strings.Count(src[:at], "\n") + 1, len([]rune(src[start:at])) + 1
		}
	}
	return line, 0
}

type walker struct {
	src    string
	off    int // where the next token is searched from
	locals map[string]bool
	probs  []Problem
}

func children(n render.Node) []render.Node {
	switch n := n.(type) {
	case *render.SeqNode:
		return n.Children
	case *render.BlockNode:
		out := append([]render.Node(nil), n.Body...)
		for _, c := range n.Clauses {
			out = append(out, c)
		}
		return out
	}
	return nil
}

// collectLocals finds the variables the template defines itself.
func (w *walker) collectLocals(n render.Node) {
	var name, args string
	switch n := n.(type) {
	case *render.TagNode:
		name, args = n.Name, n.Args
	case *render.BlockNode:
		name, args = n.Name, n.Args
	}
	switch name {
	case "assign":
		w.locals[strings.TrimSpace(strings.SplitN(args, "=", 2)[0])] = true
	case "capture", "increment", "decrement":
		w.locals[strings.TrimSpace(args)] = true
	case "for", "tablerow":
		if f := strings.Fields(args); len(f) > 0 {
			w.locals[f[0]] = true
		}
	}
	for _, c := range children(n) {
		w.collectLocals(c)
	}
}

// walk checks the expressions of every object and tag; ranges counts
// the (a..b) loops n is in.
func (w *walker) walk(n render.Node, ranges int) {
	switch n := n.(type) {
	case *render.ObjectNode:
		w.check(n.Source, n.Args, n.SourceLoc.LineNo)
	case *render.TagNode:
		w.tag(n.Name, n.Args, n.Source, n.SourceLoc.LineNo)
	case *render.BlockNode:
		w.tag(n.Name, n.Args, n.Source, n.SourceLoc.LineNo)
		if (n.Name == "for" || n.Name == "tablerow") && rangeLoop.MatchString(n.Args) {
			ranges++
			w.loop(n.Source, n.Args, ranges)
		}
	}
	for _, c := range children(n) {
		w.walk(c, ranges)
	}
}

func (w *walker) tag(name, args, source string, line int) {
	switch name {
	case "assign":
		if _, expr, ok := strings.Cut(args, "="); ok {
			w.check(source, expr, line)
		}
	case "for", "tablerow":
		if _, expr, ok := strings.Cut(args, " in "); ok {
			w.check(source, expr, line)
		}
	case "capture", "increment", "decrement", "comment", "raw", "else", "break", "continue":
	default: // if, unless, elsif, case, when, cycle, echo, ...
		w.check(source, args, line)
	}
}

// check reports the unknown variables of one expression.
func (w *walker) check(source, expr string, line int) {
	pos := strings.Index(w.src[w.off:], source)
	tokenAt := -1
	if pos >= 0 {
		tokenAt = w.off + pos
		w.off = tokenAt
	}
	for _, id := range roots(expr) {
		var p Problem
		switch {
		case id.filter && !knownFilters[id.name]:
			p = Problem{Line: line, Message: "unknown filter " + strconv.Quote(id.name)}
		case id.filter, w.locals[id.name], keywords[id.name]:
			continue
		case isRoot(id.name):
			known, fixed := Fields[id.name]
			if !fixed || id.field == "" || slices.Contains(known, id.field) {
				continue
			}
			p = Problem{Line: line, Message: "unknown field " + strconv.Quote(id.name+"."+id.field) +
				" (" + id.name + " has " + strings.Join(known, ", ") + ")"}
		default:
			p = Problem{Line: line, Message: "unknown variable " + strconv.Quote(id.name) +
				" (use " + strings.Join(Roots, ", ") + ", or a variable the template assigns)"}
		}
		if tokenAt >= 0 {
			if at := strings.Index(w.src[tokenAt:tokenAt+len(source)], expr); at >= 0 {
				abs := tokenAt + at + id.at
				lineStart := strings.LastIndexByte(w.src[:abs], '\n') + 1
				p.Line = strings.Count(w.src[:abs], "\n") + 1
				p.Column = len([]rune(w.src[lineStart:abs])) + 1
			}
		}
		w.probs = append(w.probs, p)
	}
}

func isRoot(name string) bool {
	for _, r := range Roots {
		if r == name {
			return true
		}
	}
	return false
}
