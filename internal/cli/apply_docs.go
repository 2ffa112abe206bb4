package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/loyalty"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/recommend"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/survey"
)

// document is one definition read from a file, with where it came from.
type document struct {
	where string // file: document N
	kind  string
	tpl   *templateDoc
	seg   *segment.Definition
	jour  *journey.Definition
	meas  *measure.Definition   // a saved funnel or report
	surv  *survey.Definition    // kind: survey
	rec   *recommend.Definition // kind: recommendation
	loy   *loyalty.Programme    // kind: loyalty
}

// templateDoc is a template as a file holds it (kind: template): the
// API's template input.
type templateDoc struct {
	Kind  string             `json:"kind"`
	ID    string             `json:"id"`
	Name  string             `json:"name,omitempty"`
	Topic string             `json:"topic,omitempty"`
	Body  *template.Template `json:"body"`
}

func (t *templateDoc) input() message.TemplateInput {
	return message.TemplateInput{ID: t.ID, Name: t.Name, Topic: t.Topic, Body: t.Body}
}

// kinds are the definitions apply knows, in the order it applies them.
var kinds = []string{"template", "survey", "segment", "journey", measure.KindFunnel, measure.KindReport, "recommendation", "loyalty"}

// readDocuments reads every definition in paths.
func readDocuments(paths []string) ([]document, error) {
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(path))
			if !d.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json" || path == p) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(files)
	var out []document
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, err := splitKinds(f, b)
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	return out, nil
}

// splitKinds reads the documents of one file by kind, each parsed
// strictly (unknown fields are errors).
func splitKinds(name string, b []byte) ([]document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var nodes []*yaml.Node
	var found []string
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var head struct {
			Kind string `yaml:"kind"`
		}
		if err := node.Decode(&head); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w (a definition is a mapping with a kind: %s)", name, len(found)+1, err, strings.Join(kinds, ", "))
		}
		if head.Kind == "scenario" {
			continue // a simulator scenario (parcours journey test), kept beside its journey
		}
		if !slices.Contains(kinds, head.Kind) {
			return nil, fmt.Errorf("%s: document %d: kind %q is not one parcours apply knows (kinds: %s; scenario is skipped)",
				name, len(found)+1, head.Kind, strings.Join(kinds, ", "))
		}
		nodes, found = append(nodes, &node), append(found, head.Kind)
	}
	if len(found) == 0 {
		return nil, nil
	}
	// A file of one kind is parsed whole, so that errors give its lines;
	// a mixed file (or one with scenarios) document by document.
	same := len(found) == docsIn(b) && !slices.ContainsFunc(found, func(k string) bool { return k != found[0] })
	var out []document
	for i := range found {
		if same && i > 0 {
			break
		}
		where := fmt.Sprintf("%s: document %d", name, i+1)
		src := b
		if !same {
			raw, err := yaml.Marshal(nodes[i])
			if err != nil {
				return nil, err
			}
			src = raw
		} else {
			where = name
		}
		at := func(j int) string { return fmt.Sprintf("%s: document %d", name, i+j+1) }
		switch found[i] {
		case "template":
			tpls, err := parseTemplates(where, src)
			if err != nil {
				return nil, err
			}
			for j, t := range tpls {
				out = append(out, document{where: at(j), kind: "template", tpl: t})
			}
		case "survey":
			defs, err := survey.ParseYAML(where, bytes.NewReader(src))
			if err != nil {
				return nil, err
			}
			for j, d := range defs {
				out = append(out, document{where: at(j), kind: "survey", surv: d})
			}
		case "loyalty":
			defs, err := loyalty.ParseYAML(where, bytes.NewReader(src))
			if err != nil {
				return nil, err
			}
			for j, d := range defs {
				out = append(out, document{where: at(j), kind: "loyalty", loy: d})
			}
		case "segment":
			defs, err := segment.ParseYAML(where, bytes.NewReader(src))
			if err != nil {
				return nil, err
			}
			for j, d := range defs {
				out = append(out, document{where: at(j), kind: "segment", seg: d})
			}
		case "journey":
			defs, err := journey.ParseYAML(where, bytes.NewReader(src))
			if err != nil {
				return nil, err
			}
			for j, d := range defs {
				out = append(out, document{where: at(j), kind: "journey", jour: d})
			}
		case "recommendation":
			defs, err := parseRecommendations(where, src)
			if err != nil {
				return nil, err
			}
			for j, d := range defs {
				out = append(out, document{where: at(j), kind: "recommendation", rec: d})
			}
		case measure.KindFunnel, measure.KindReport:
			defs, err := measure.ParseDefinitions(where, bytes.NewReader(src))
			if err != nil {
				return nil, err
			}
			for j, d := range defs {
				out = append(out, document{where: at(j), kind: d.Kind, meas: d})
			}
		}
	}
	return out, nil
}

// parseTemplates reads kind: template documents: YAML, turned into the
// JSON the API takes, whose unknown fields are errors.
func parseTemplates(where string, b []byte) ([]*templateDoc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []*templateDoc
	for i := 1; ; i++ {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", where, i, err)
		}
		js, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", where, i, err)
		}
		jd := json.NewDecoder(bytes.NewReader(js))
		jd.DisallowUnknownFields()
		var t templateDoc
		if err := jd.Decode(&t); err != nil {
			return nil, fmt.Errorf("%s: document %d: template: %w (fields: kind, id, name, topic, body with %s)", where, i, err, channel.Join(template.Variants()))
		}
		if t.Body == nil {
			return nil, fmt.Errorf("%s: document %d: template %s: body is required: one variant per channel (%s)", where, i, t.ID, channel.Join(template.Variants()))
		}
		out = append(out, &t)
	}
}

// docsIn counts the YAML documents of b.
func docsIn(b []byte) int {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	n := 0
	for {
		var v yaml.Node
		if dec.Decode(&v) != nil {
			return n
		}
		n++
	}
}
