package cli

import (
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/measure"
)

// reportRow is a saved funnel or report as the API lists it.
type reportRow struct {
	ID      string `json:"id"`
	Kind    string `json:"kind"`
	Report  string `json:"report,omitempty"`
	Name    string `json:"name,omitempty"`
	Version int    `json:"version"`
}

// applyReports saves the funnels and reports (kind: funnel, kind: report),
// after everything else: nothing depends on them.
func applyReports(e *env, api *apiClient, set *defSet) ([]reportRow, error) {
	if len(set.reports) == 0 {
		return []reportRow{}, nil
	}
	defs := make([]*measure.Definition, 0, len(set.reports))
	for _, d := range set.reports {
		defs = append(defs, d.meas)
	}
	var saved struct {
		Reports []reportRow `json:"reports"`
	}
	if err := api.call(e.ctx, "POST", "/api/v1/measure/reports", map[string]any{"reports": defs}, &saved); err != nil {
		return nil, set.locate(err)
	}
	return saved.Reports, nil
}

func printReports(w io.Writer, rows []reportRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tVERSION\tNAME")
	for _, r := range rows {
		kind := r.Kind
		if r.Report != "" {
			kind += " (" + r.Report + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.ID, kind, r.Version, r.Name)
	}
	tw.Flush()
}

type measureReportsCmd struct{ remote }

func (c *measureReportsCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out struct {
		Reports []reportRow `json:"reports"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/measure/reports", nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	printReports(e.stdout, out.Reports)
	return nil
}

type measureRunCmd struct {
	remote
	measureRange
	ID string `arg:"" help:"The saved funnel's or report's id (parcours measure reports lists them)."`
}

func (c *measureRunCmd) Help() string {
	return `Runs a saved funnel or report (applied with parcours apply -f) over its range (the last N days to
today, as its range: says) or --from and --to.

  parcours apply -f examples/measure/
  parcours measure run checkout-funnel --from 2025-02-01 --to 2025-02-28`
}

func (c *measureRunCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var def reportRow
	if err := api.call(e.ctx, "GET", "/api/v1/measure/reports/"+url.PathEscape(c.ID), nil, &def); err != nil {
		return err
	}
	path := "/api/v1/measure/reports/" + url.PathEscape(c.ID) + "/run?" + c.query().Encode()
	if g.JSON {
		return api.call(e.ctx, "GET", path, nil, e.stdout)
	}
	switch {
	case def.Kind == measure.KindFunnel:
		var r measure.FunnelReport
		if err := api.call(e.ctx, "GET", path, nil, &r); err != nil {
			return err
		}
		printFunnel(e.stdout, &r)
	case def.Report == measure.ReportKPIs:
		var r measure.KPIReport
		if err := api.call(e.ctx, "GET", path, nil, &r); err != nil {
			return err
		}
		printKPIs(e.stdout, &r)
	case def.Report == measure.ReportCohorts:
		var r measure.CohortReport
		if err := api.call(e.ctx, "GET", path, nil, &r); err != nil {
			return err
		}
		printCohorts(e.stdout, &r, false)
	default:
		var r measure.AttributionReport
		if err := api.call(e.ctx, "GET", path, nil, &r); err != nil {
			return err
		}
		printAttribution(e.stdout, &r, false)
	}
	return nil
}
