package cli

import (
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
)

// templateRow is a template an apply saved or left alone.
type templateRow struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Topic   string `json:"topic,omitempty"`
	Version int    `json:"version"`
	Change  string `json:"change"` // new, changed, unchanged
}

// applyTemplates saves the templates that are new or changed; an
// unchanged one keeps its version.
func (c *applyCmd) applyTemplates(e *env, api *apiClient, set *defSet, srv *serverDefs) ([]templateRow, error) {
	var out []templateRow
	for _, d := range set.templates {
		t := d.tpl
		change := srv.templateChange(t)
		if change == "unchanged" {
			old := srv.templates[t.ID]
			out = append(out, templateRow{ID: t.ID, Name: old.Name, Topic: old.Topic, Version: old.Version, Change: change})
			continue
		}
		var rec templateRecord
		if err := api.call(e.ctx, "PUT", "/api/v1/templates/"+url.PathEscape(t.ID), t.input(), &rec); err != nil {
			return nil, fmt.Errorf("%s: template %s: %w", d.where, t.ID, err)
		}
		out = append(out, templateRow{ID: rec.ID, Name: rec.Name, Topic: rec.Topic, Version: rec.Version, Change: change})
	}
	return out, nil
}

func printTemplates(w io.Writer, rows []templateRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tCHANGE\tTOPIC\tNAME")
	for _, r := range rows {
		topic := r.Topic
		if topic == "" {
			topic = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", r.ID, r.Version, r.Change, topic, r.Name)
	}
	tw.Flush()
}
