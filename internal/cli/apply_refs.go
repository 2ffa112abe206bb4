package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/segment"
)

// defSet is the definitions of one apply, by kind, each id once.
type defSet struct {
	templates, segments, journeys []document
	surveys                       []document // kind: survey (apply_surveys.go)
	reports                       []document // saved funnels and reports (internal/cli/measure_apply.go)
	recommendations               []document // kind: recommendation (apply_recommendations.go)
	loyalty                       []document // kind: loyalty (apply_loyalty.go)
}

// newDefSet sorts the documents by kind. The same id twice is one
// definition if both say the same (a segment kept beside the journey that
// needs it, and in a file of segments), an error otherwise.
func newDefSet(docs []document) (*defSet, error) {
	s := &defSet{}
	seen := map[string]document{}
	for _, d := range docs {
		key := d.kind + " " + d.id()
		if first, ok := seen[key]; ok {
			if !reflect.DeepEqual(canonical(first.value()), canonical(d.value())) {
				return nil, fmt.Errorf("%s: %s %s is also defined, differently, in %s: keep one", d.where, d.kind, d.id(), first.where)
			}
			continue
		}
		seen[key] = d
		switch d.kind {
		case "template":
			s.templates = append(s.templates, d)
		case "segment":
			s.segments = append(s.segments, d)
		case "journey":
			s.journeys = append(s.journeys, d)
		case "survey":
			s.surveys = append(s.surveys, d)
		case "recommendation":
			s.recommendations = append(s.recommendations, d)
		case "loyalty":
			s.loyalty = append(s.loyalty, d)
		default:
			s.reports = append(s.reports, d)
		}
	}
	return s, nil
}

func (d *document) id() string {
	switch {
	case d.tpl != nil:
		return d.tpl.ID
	case d.seg != nil:
		return d.seg.ID
	case d.meas != nil:
		return d.meas.ID
	case d.surv != nil:
		return d.surv.ID
	case d.rec != nil:
		return d.rec.Name
	case d.loy != nil:
		return d.loy.ID
	}
	return d.jour.ID
}

func (d *document) value() any {
	switch {
	case d.tpl != nil:
		return d.tpl
	case d.seg != nil:
		return d.seg
	case d.meas != nil:
		return d.meas
	case d.surv != nil:
		return d.surv
	case d.rec != nil:
		return d.rec
	case d.loy != nil:
		return d.loy
	}
	return d.jour
}

// canonical is v as plain JSON values, to compare definitions.
func canonical(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func (s *defSet) empty() bool {
	return len(s.templates)+len(s.segments)+len(s.journeys)+len(s.reports)+len(s.surveys)+len(s.recommendations)+len(s.loyalty) == 0
}

func (s *defSet) segmentIDs() []string {
	var ids []string
	for _, d := range s.segments {
		ids = append(ids, d.seg.ID)
	}
	return ids
}

func (s *defSet) segmentDefs() []*segment.Definition {
	var out []*segment.Definition
	for _, d := range s.segments {
		out = append(out, d.seg)
	}
	return out
}

func (s *defSet) journeyDefs() []*journey.Definition {
	var out []*journey.Definition
	for _, d := range s.journeys {
		out = append(out, d.jour)
	}
	return out
}

func (s *defSet) template(id string) *templateDoc {
	for _, d := range s.templates {
		if d.tpl.ID == id {
			return d.tpl
		}
	}
	return nil
}

// locate prefixes an API refusal of a segment or journey with the file
// that defines it.
func (s *defSet) locate(err error) error {
	var ae *apiError
	if !errors.As(err, &ae) {
		return err
	}
	for _, list := range [][]document{s.segments, s.journeys} {
		for _, d := range list {
			if id, _ := ae.Details[d.kind].(string); id != "" && id == d.id() {
				return fmt.Errorf("%s: %w", d.where, err)
			}
		}
	}
	return err
}

// serverDefs is what the server already has that definitions may name.
type serverDefs struct {
	templates map[string]*templateRecord
	topics    map[string]bool
	segments  map[string]bool
	surveys   map[string]bool
}

// templateRecord is a stored template as the API returns it.
type templateRecord struct {
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Topic   string          `json:"topic"`
	Body    json.RawMessage `json:"body"`
	Version int             `json:"version"`
}

func loadServerDefs(e *env, api *apiClient) (*serverDefs, error) {
	srv := &serverDefs{templates: map[string]*templateRecord{}, topics: map[string]bool{}, segments: map[string]bool{}, surveys: map[string]bool{}}
	var tpls struct {
		Templates []*templateRecord `json:"templates"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/templates", nil, &tpls); err != nil {
		return nil, err
	}
	for _, t := range tpls.Templates {
		srv.templates[t.ID] = t
	}
	var topics struct {
		Topics []struct {
			ID string `json:"id"`
		} `json:"topics"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/topics", nil, &topics); err != nil {
		return nil, err
	}
	for _, t := range topics.Topics {
		srv.topics[t.ID] = true
	}
	var segs struct {
		Segments []segmentRow `json:"segments"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/segments", nil, &segs); err != nil {
		return nil, err
	}
	for _, sg := range segs.Segments {
		srv.segments[sg.ID] = true
	}
	var survs struct {
		Surveys []surveyRow `json:"surveys"`
	}
	// A server without surveys (an older one) answers 404: nothing to
	// resolve against.
	if err := api.call(e.ctx, "GET", "/api/v1/surveys", nil, &survs); err == nil {
		for _, sv := range survs.Surveys {
			srv.surveys[sv.ID] = true
		}
	}
	return srv, nil
}

func (srv *serverDefs) topicList() string {
	var names []string
	for t := range srv.topics {
		names = append(names, t)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// templateChange says whether applying t creates, changes or leaves the
// server's template alone.
func (srv *serverDefs) templateChange(t *templateDoc) string {
	old := srv.templates[t.ID]
	switch {
	case old == nil:
		return "new"
	case sameTemplate(old, t):
		return "unchanged"
	}
	return "changed"
}

func sameTemplate(old *templateRecord, t *templateDoc) bool {
	name := t.Name
	if name == "" {
		name = t.ID
	}
	var body any
	_ = json.Unmarshal(old.Body, &body)
	return old.Name == name && old.Topic == t.Topic && reflect.DeepEqual(body, canonical(t.Body))
}

// check resolves what the definitions name before anything is saved:
// each template is checked (syntax, variables, channel limits) and its
// topic exists; each journey's send steps name a template and a topic
// that exist, on the server or in the files applied.
func (s *defSet) check(srv *serverDefs) error {
	for _, d := range s.templates {
		t := d.tpl
		if t.Topic != "" && !srv.topics[t.Topic] {
			return fmt.Errorf("%s: template %s: topic: %q is not a topic of the server's message policy (topics: %s)", d.where, t.ID, t.Topic, srv.topicList())
		}
		// The server checks again on save, with its policy's SMS limit.
		if err := t.Body.Check(template.Rules{MaxSMSSegments: 10}); err != nil {
			return fmt.Errorf("%s: template %s: %w", d.where, t.ID, err)
		}
	}
	for _, d := range s.journeys {
		for _, ref := range sendSteps(d.jour.Steps, "steps") {
			id := ref.send.Template
			if srv.templates[id] == nil && s.template(id) == nil {
				return fmt.Errorf("%s: journey %s: %s.template: no template %q, neither on the server nor in the files applied (add a kind: template document, or parcours templates save)",
					d.where, d.jour.ID, ref.path, id)
			}
			if t := ref.send.Topic; t != "" && !srv.topics[t] {
				return fmt.Errorf("%s: journey %s: %s.topic: %q is not a topic of the server's message policy (topics: %s)", d.where, d.jour.ID, ref.path, t, srv.topicList())
			}
		}
	}
	return s.checkSurveys(srv)
}

// sendRef is a send step and its path in the journey.
type sendRef struct {
	path string // steps[2].wait_for.on_timeout[0].send
	send *journey.Send
}

// sendSteps lists the send steps of steps, nested ones included, with
// the paths the journey validator uses.
func sendSteps(steps []journey.Step, path string) []sendRef {
	var out []sendRef
	for i := range steps {
		s := &steps[i]
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case s.Send != nil:
			out = append(out, sendRef{p + ".send", s.Send})
		case s.WaitFor != nil:
			out = append(out, sendSteps(s.WaitFor.OnEvent, p+".wait_for.on_event")...)
			out = append(out, sendSteps(s.WaitFor.OnTimeout, p+".wait_for.on_timeout")...)
		case s.Branch != nil:
			for j := range s.Branch.Cases {
				out = append(out, sendSteps(s.Branch.Cases[j].Steps, fmt.Sprintf("%s.branch.cases[%d].steps", p, j))...)
			}
			out = append(out, sendSteps(s.Branch.Else, p+".branch.else")...)
		case s.Split != nil:
			for j := range s.Split.Variants {
				out = append(out, sendSteps(s.Split.Variants[j].Steps, fmt.Sprintf("%s.split.variants[%d].steps", p, j))...)
			}
		}
	}
	return out
}

// inlineMembers returns d with its member conditions on segments of the
// apply replaced by their conditions, for a preview on a server that
// does not have them yet (a member of a segment is in it exactly when
// its condition holds).
func (s *defSet) inlineMembers(d *segment.Definition) *segment.Definition {
	var cp segment.Definition
	b, _ := json.Marshal(d)
	_ = json.Unmarshal(b, &cp)
	var inline func(c *segment.Condition, seen []string)
	inline = func(c *segment.Condition, seen []string) {
		if c.Member != "" && !slices.Contains(seen, c.Member) {
			for _, x := range s.segments {
				if x.seg.ID == c.Member {
					var where segment.Condition
					b, _ := json.Marshal(x.seg.Where)
					_ = json.Unmarshal(b, &where)
					*c = where
					inline(c, append(seen, x.seg.ID))
					return
				}
			}
		}
		for i := range c.All {
			inline(&c.All[i], seen)
		}
		for i := range c.Any {
			inline(&c.Any[i], seen)
		}
		if c.Not != nil {
			inline(c.Not, seen)
		}
	}
	inline(&cp.Where, []string{d.ID})
	return &cp
}
