package loyalty

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/problem"
)

// ParseYAML reads the kind: loyalty documents of a file. An error names
// the file, the line and the field, and says what to write:
//
//	club.yaml:12: earn[1].points_per_euro: must be between 0 and 1000
func ParseYAML(name string, r io.Reader) ([]*Programme, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	nodes := yaml.NewDecoder(bytes.NewReader(src))
	var out []*Programme
	for i := 1; ; i++ {
		var p Programme
		err := dec.Decode(&p)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, problem.Invalid(fmt.Sprintf("%s: document %d", name, i), strings.TrimPrefix(err.Error(), "yaml: "))
		}
		var node yaml.Node
		if err := nodes.Decode(&node); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if err := p.Validate(); err != nil {
			return nil, located(name, &node, err)
		}
		out = append(out, &p)
	}
}

// ParseJSON reads one programme from JSON (the API's body), refusing
// unknown fields, and validates it.
func ParseJSON(b []byte) (*Programme, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Programme
	if err := dec.Decode(&p); err != nil {
		return nil, problem.Invalid("body", err.Error()+": a loyalty programme is {\"id\", \"earn\": [...], \"tiers\", \"expiry\", \"rewards\"} (docs/loyalty.md)")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// located prefixes each validation error with its file and line.
func located(name string, doc *yaml.Node, err error) error {
	var list problem.List
	if !errors.As(err, &list) {
		return fmt.Errorf("%s: %w", name, err)
	}
	out := make(problem.List, len(list))
	for i, e := range list {
		c := *e
		c.Path = fmt.Sprintf("%s:%d: %s", name, lineOf(doc, e.Path), e.Path)
		out[i] = &c
	}
	return out
}

var pathPart = regexp.MustCompile(`([^.\[\]]+)|\[(\d+)\]`)

// lineOf returns the line of the node at path ("tiers.levels[1].threshold")
// in doc, or of its nearest ancestor that is there.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, m := range pathPart.FindAllStringSubmatch(path, -1) {
		var next *yaml.Node
		switch {
		case m[1] != "" && n.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value == m[1] {
					line = n.Content[j].Line
					next = n.Content[j+1]
				}
			}
		case m[2] != "" && n.Kind == yaml.SequenceNode:
			k, _ := strconv.Atoi(m[2])
			if k < len(n.Content) {
				next = n.Content[k]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
	}
	return line
}
