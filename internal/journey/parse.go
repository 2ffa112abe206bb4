package journey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseJSON reads one definition from JSON, refusing unknown fields.
func ParseJSON(b []byte) (*Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, invalid("", "body", err.Error())
	}
	return &d, nil
}

// ParseYAML reads every definition of a YAML stream (documents separated
// by ---), refusing unknown fields. JSON is YAML too. Errors carry the
// line.
func ParseYAML(name string, r io.Reader) ([]*Definition, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var out []*Definition
	for i := 1; ; i++ {
		var d Definition
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, invalid("", fmt.Sprintf("%s: document %d", name, i), strings.TrimPrefix(err.Error(), "yaml: "))
		}
		// YAML gives ints where JSON gives float64s: store what JSON
		// would read back, so a definition means the same once saved.
		b, err := json.Marshal(&d)
		if err != nil {
			return nil, invalid("", fmt.Sprintf("%s: document %d", name, i), err.Error())
		}
		var n Definition
		if err := json.Unmarshal(b, &n); err != nil {
			return nil, invalid("", fmt.Sprintf("%s: document %d", name, i), err.Error())
		}
		out = append(out, &n)
	}
}
