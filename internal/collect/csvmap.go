package collect

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Mapping says how the columns of a CSV file become Segment events.
//
// A column maps to a path in the event: a top-level field (userId,
// anonymousId, messageId, event, name, timestamp, type, ...) or a dotted path
// into an object (traits.email, properties.order_id, context.externalIds).
// A path may end with a type, ":number", ":bool" or ":string" (the
// default: "01000" stays a postcode). Columns without a mapping go where a
// reader expects them: to traits for identify and group, to properties
// otherwise; a header that already is a path (userId, traits.email) maps
// to itself. Empty cells are left out.
type Mapping struct {
	// Set holds constant fields for every row: type, event, ...
	Set map[string]string `yaml:"set"`
	// Columns maps a header to a path.
	Columns map[string]string `yaml:"columns"`
	// Ignore lists columns to leave out.
	Ignore []string `yaml:"ignore"`
}

// LoadMapping reads a mapping file (YAML):
//
//	set: {type: track, event: Order Completed}
//	columns:
//	  customer_id: userId
//	  total: properties.total:number
//	ignore: [internal_note]
func LoadMapping(path string) (*Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	m := new(Mapping)
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(m); err != nil {
		return nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	return m, nil
}

// ParseAssignments parses "key=value" flags into m.
func ParseAssignments(list []string, m map[string]string) error {
	for _, a := range list {
		k, v, ok := strings.Cut(a, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("%q: expected COLUMN=PATH or FIELD=VALUE", a)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return nil
}

// topLevel are the event fields a column may map to directly.
var topLevel = map[string]bool{
	"type": true, "messageId": true, "event": true, "name": true, "category": true,
	"userId": true, "anonymousId": true, "groupId": true, "previousId": true,
	"timestamp": true, "originalTimestamp": true, "sentAt": true,
}

var objects = map[string]bool{"traits": true, "properties": true, "context": true, "integrations": true}

// column is one CSV column's compiled mapping.
type column struct {
	path []string // e.g. ["traits", "email"]
	kind string   // string, number, bool
	skip bool
}

// compile resolves the mapping of each header.
func (m *Mapping) compile(header []string) ([]column, error) {
	typ := m.Set["type"]
	defaultObject := "properties"
	if typ == "identify" || typ == "group" {
		defaultObject = "traits"
	}
	ignore := map[string]bool{}
	for _, c := range m.Ignore {
		ignore[c] = true
	}
	cols := make([]column, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if ignore[h] {
			cols[i].skip = true
			continue
		}
		target, ok := m.Columns[h]
		if !ok {
			if topLevel[h] || objects[strings.SplitN(h, ".", 2)[0]] && strings.Contains(h, ".") {
				target = h
			} else {
				target = defaultObject + "." + h
			}
		}
		col, err := parseTarget(target)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", h, err)
		}
		cols[i] = col
	}
	for k := range m.Columns {
		found := false
		for _, h := range header {
			found = found || strings.TrimSpace(h) == k
		}
		if !found {
			return nil, fmt.Errorf("mapping names column %q, which the file's header does not have (header: %s)", k, strings.Join(header, ", "))
		}
	}
	return cols, nil
}

func parseTarget(t string) (column, error) {
	path, kind, _ := strings.Cut(t, ":")
	if kind == "" {
		kind = "string"
	}
	if kind != "string" && kind != "number" && kind != "bool" {
		return column{}, fmt.Errorf("type %q: use :string, :number or :bool", kind)
	}
	parts := strings.Split(path, ".")
	switch {
	case len(parts) == 1 && topLevel[parts[0]]:
	case len(parts) > 1 && objects[parts[0]]:
	default:
		return column{}, fmt.Errorf("target %q: use a top-level field (userId, event, timestamp, ...) or traits.X, properties.X, context.X", path)
	}
	for _, p := range parts {
		if p == "" {
			return column{}, fmt.Errorf("target %q has an empty part", path)
		}
	}
	return column{path: parts, kind: kind}, nil
}

// row builds the event object of one CSV row.
func (m *Mapping) row(cols []column, rec []string) (map[string]any, error) {
	obj := map[string]any{}
	for k, v := range m.Set {
		obj[k] = v
	}
	for i, cell := range rec {
		if i >= len(cols) || cols[i].skip || cell == "" {
			continue
		}
		c := cols[i]
		var v any = cell
		switch c.kind {
		case "number":
			f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(cell), ",", "."), 64)
			if err != nil {
				return nil, fmt.Errorf("column %d (%s): %q is not a number", i+1, strings.Join(c.path, "."), cell)
			}
			v = f
		case "bool":
			b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(cell)))
			if err != nil {
				return nil, fmt.Errorf("column %d (%s): %q is not true or false", i+1, strings.Join(c.path, "."), cell)
			}
			v = b
		}
		set(obj, c.path, v)
	}
	return obj, nil
}

func set(obj map[string]any, path []string, v any) {
	for _, p := range path[:len(path)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[p] = next
		}
		obj = next
	}
	obj[path[len(path)-1]] = v
}
