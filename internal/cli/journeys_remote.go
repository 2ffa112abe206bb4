package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/store"
)

// journeyRow is a journey as the API lists it.
type journeyRow struct {
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Version    int              `json:"version"`
	Status     string           `json:"status"`
	Enrolments map[string]int64 `json:"enrolments"`
}

func printJourneys(w io.Writer, rows []journeyRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tSTATUS\tACTIVE\tCOMPLETED\tEXITED\tCONTROL\tNAME")
	for _, r := range rows {
		e := r.Enrolments
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.Version, r.Status, e["active"], e["completed"], e["exited"], e["control"], r.Name)
	}
	tw.Flush()
}

type journeyListCmd struct{ remote }

func (c *journeyListCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out struct {
		Journeys []journeyRow `json:"journeys"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/journeys", nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	printJourneys(e.stdout, out.Journeys)
	return nil
}

type journeyRef struct {
	remote
	Journey string `arg:"" help:"The journey's id."`
}

type journeyShowCmd struct {
	journeyRef
	Version int `help:"A version (default: the latest)."`
}

func (c *journeyShowCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	path := "/api/v1/journeys/" + url.PathEscape(c.Journey)
	if c.Version > 0 {
		path += fmt.Sprintf("?version=%d", c.Version)
	}
	var out map[string]any
	if err := api.call(e.ctx, "GET", path, nil, &out); err != nil {
		return err
	}
	return printJSON(e.stdout, out)
}

type journeyPauseCmd struct{ journeyRef }

func (c *journeyPauseCmd) Run(g *config.Globals, e *env) error { return c.status(g, e, "pause") }

type journeyResumeCmd struct{ journeyRef }

func (c *journeyResumeCmd) Run(g *config.Globals, e *env) error { return c.status(g, e, "resume") }

type journeyArchiveCmd struct{ journeyRef }

func (c *journeyArchiveCmd) Run(g *config.Globals, e *env) error { return c.status(g, e, "archive") }

func (c *journeyRef) status(g *config.Globals, e *env, action string) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var row journeyRow
	if err := api.call(e.ctx, "POST", "/api/v1/journeys/"+url.PathEscape(c.Journey)+"/"+action, nil, &row); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, row)
	}
	fmt.Fprintf(e.stdout, "%s is %s\n", row.ID, row.Status)
	return nil
}

type journeyEnrolCmd struct {
	journeyRef
	Profile int64 `arg:"" help:"The customer's profile id."`
}

func (c *journeyEnrolCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out map[string]any
	if err := api.call(e.ctx, "POST", "/api/v1/journeys/"+url.PathEscape(c.Journey)+"/enrol", map[string]any{"profile_id": c.Profile}, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "profile %d enrolled in %s (enrolment %v, %s)\n", c.Profile, c.Journey, out["id"], strings.TrimSpace(fmt.Sprint(out["status"])))
	return nil
}

type journeyMigrateCmd struct {
	journeyRef
	From int `required:"" help:"The version whose customers move to the latest."`
}

func (c *journeyMigrateCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out struct {
		From  int            `json:"from_version"`
		To    int            `json:"to_version"`
		Moved int            `json:"moved"`
		Kept  map[string]int `json:"kept"`
	}
	if err := api.call(e.ctx, "POST", "/api/v1/journeys/"+url.PathEscape(c.Journey)+"/migrate", map[string]any{"from_version": c.From}, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "%d customers moved from version %d to %d\n", out.Moved, out.From, out.To)
	for step, n := range out.Kept {
		fmt.Fprintf(e.stdout, "  %d stay on version %d: %s has no step of the same kind in version %d\n", n, out.From, step, out.To)
	}
	return nil
}

type journeyStatsCmd struct{ journeyRef }

func (c *journeyStatsCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var st store.JourneyStats
	if err := api.call(e.ctx, "GET", "/api/v1/journeys/"+url.PathEscape(c.Journey)+"/stats", nil, &st); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, st)
	}
	n := st.Enrolments
	fmt.Fprintf(e.stdout, "entered %d · in progress %d · completed %d · exited %d · control group %d\n",
		st.Entered, n["active"], n["completed"], n["exited"], n["control"])
	fmt.Fprintf(e.stdout, "converted %d (%.1f%%)\n", st.Converted, 100*st.ConversionRate)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, k := range sortedKeys(st.Exits) {
		fmt.Fprintf(tw, "  exited\t%s\t%d\n", k, st.Exits[k])
	}
	for _, k := range sortedKeys(st.Handed) {
		fmt.Fprintf(tw, "  handed to messages\t%s\t%d\n", k, st.Handed[k])
	}
	// Sent is what a provider took; the rest waits or was refused.
	for _, status := range []string{"sent", "queued", "deferred", "retrying", "sending", "skipped", "failed"} {
		for _, ch := range sortedKeys(st.Messages[status]) {
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", status, ch, st.Messages[status][ch])
		}
	}
	tw.Flush()
	fmt.Fprintln(e.stdout)
	tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTEP\tKIND\tOUTCOME\tCOUNT")
	for _, s := range st.Steps {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\n", s.Version, s.Step, s.Kind, s.Outcome, s.Count)
	}
	for _, v := range st.Variants {
		fmt.Fprintf(tw, "\t%s\tvariant %s\tnow %s\t%d\n", v.Step, v.Variant, v.Status, v.Count)
	}
	if err := tw.Flush(); err != nil || len(st.ABResults) == 0 {
		return err
	}
	fmt.Fprintln(e.stdout, "\nA/B results (p-value: against the split's first variant)")
	tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTEP\tVARIANT\tENTERED\tCONVERTED\tRATE\tP-VALUE")
	ref := ""
	for _, r := range st.ABResults {
		// The first variant of each split is the reference; another
		// without a p-value had no enrolment, or no difference to test.
		p := "-"
		if split := fmt.Sprint(r.Version, r.Step); split != ref {
			ref, p = split, "reference"
		} else if r.PValue != nil {
			p = fmt.Sprintf("%.4f", *r.PValue)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%.1f%%\t%s\n", r.Version, r.Step, r.Variant, r.Entered, r.Converted, 100*r.ConversionRate, p)
	}
	return tw.Flush()
}
