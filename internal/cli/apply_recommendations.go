package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/recommend"
)

// recommendationDoc is a kind: recommendation document (docs/recommend.md).
type recommendationDoc struct {
	Kind                 string `yaml:"kind"`
	recommend.Definition `yaml:",inline"`
}

// parseRecommendations reads kind: recommendation documents; a field
// nobody knows and a definition that does not validate are errors that
// name the file, the document and the field.
func parseRecommendations(where string, b []byte) ([]*recommend.Definition, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var out []*recommend.Definition
	for i := 1; ; i++ {
		var d recommendationDoc
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: recommendation: %w (fields: kind, name, description, strategy, limit, filters, weights, fallback)", where, i, err)
		}
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", where, i, err)
		}
		out = append(out, &d.Definition)
	}
}

// recommendationRow is a recommendation an apply saved.
type recommendationRow struct {
	Name     string `json:"name"`
	Strategy string `json:"strategy"`
}

// applyRecommendations saves the named recommendations (kind:
// recommendation).
func applyRecommendations(e *env, api *apiClient, set *defSet) ([]recommendationRow, error) {
	if len(set.recommendations) == 0 {
		return []recommendationRow{}, nil
	}
	var defs []*recommend.Definition
	for _, d := range set.recommendations {
		defs = append(defs, d.rec)
	}
	var saved struct {
		Recommendations []recommendationRow `json:"recommendations"`
	}
	if err := api.call(e.ctx, "POST", "/api/v1/recommendations", map[string]any{"recommendations": defs}, &saved); err != nil {
		return nil, err
	}
	return saved.Recommendations, nil
}

func printRecommendations(w io.Writer, rows []recommendationRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTRATEGY")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r.Name, r.Strategy)
	}
	tw.Flush()
}
