package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/measure"
)

type measureCohortsCmd struct {
	remote
	measureRange
	Interval string `help:"Cohort period: week or month." enum:"week,month" default:"month"`
	By       string `help:"first_order (customers by the period of their first order) or first_seen (profiles by their first visit)." enum:"first_order,first_seen" default:"first_order"`
	Activity string `help:"What retention counts: orders (bought again) or visits (came back). Default: orders for first_order, visits for first_seen." enum:",orders,visits" default:""`
	Split    string `help:"One cohort per period and acquisition (how the customer first came), channel or store (of the first order)."`
	Revenue  bool   `help:"Show the cumulated revenue per customer (a lifetime value curve) instead of retention."`
	CSV      bool   `help:"Print CSV: one row per cohort and period."`
}

func (c *measureCohortsCmd) Help() string {
	return `A retention table: customers grouped by the period of their first order (or first visit), and the share
of each group that bought (or visited) again in each later period; --revenue shows what they spent.

  parcours measure cohorts --from 2025-01-01 --to 2025-06-30
  parcours measure cohorts --interval week --split acquisition --revenue`
}

func (c *measureCohortsCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	q := c.query()
	q.Set("interval", c.Interval)
	q.Set("by", c.By)
	for k, v := range map[string]string{"activity": c.Activity, "split": c.Split} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if c.From == "" && c.To == "" {
		q.Del("from")
	}
	if c.CSV {
		q.Set("format", "csv")
		return api.call(e.ctx, "GET", "/api/v1/measure/cohorts?"+q.Encode(), nil, e.stdout)
	}
	var rep measure.CohortReport
	if err := api.call(e.ctx, "GET", "/api/v1/measure/cohorts?"+q.Encode(), nil, &rep); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, rep)
	}
	printCohorts(e.stdout, &rep, c.Revenue)
	return nil
}

func printCohorts(w io.Writer, r *measure.CohortReport, revenue bool) {
	what := "retention: share active (" + r.Activity + ")"
	if revenue {
		what = "cumulated revenue per customer"
	}
	fmt.Fprintf(w, "cohorts by %s, per %s, %s to %s (%s); %s in each %s after\n\n", strings.ReplaceAll(r.By, "_", " "), r.Interval,
		r.Range.From, r.Range.To, r.TimeZone, what, r.Interval)
	width := 0
	for _, c := range r.Cohorts {
		width = max(width, len(c.Periods))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := "COHORT\t"
	if r.Split != "" {
		head += strings.ToUpper(r.Split) + "\t"
	}
	head += "CUSTOMERS\t"
	for k := range width {
		head += "+" + strconv.Itoa(k) + "\t"
	}
	fmt.Fprintln(tw, head)
	for _, c := range r.Cohorts {
		row := c.Period + "\t"
		if r.Split != "" {
			row += orDash(c.Value) + "\t"
		}
		row += thousands(float64(c.Size), 0) + "\t"
		for _, p := range c.Periods {
			if revenue {
				row += kpiValue("currency", p.CumulativeARPU) + "\t"
			} else {
				row += kpiValue("ratio", p.Retention) + "\t"
			}
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
}
