package cli

import (
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/measure"
)

type measureCmd struct {
	Kpis        measureKPIsCmd        `cmd:"" name:"kpis" help:"KPIs over a date range, against the previous range: revenue, orders, conversion, retention, lifetime value, NPS, CSAT, messages ..."`
	Funnel      measureFunnelCmd      `cmd:"" help:"A funnel: how far customers went through ordered steps, the median time per step, where they dropped and what they did next."`
	Experiment  measureExperimentCmd  `cmd:"" help:"A journey's holdout and A/B splits: conversion per arm with intervals, lift, significance, revenue per recipient, sample ratio check."`
	Cohorts     measureCohortsCmd     `cmd:"" help:"Retention table: customers by the period of their first order (or visit), active and spending in each later period."`
	Attribution measureAttributionCmd `cmd:"" help:"Orders credited to the touchpoints before them (campaigns, messages, store visits, calls) under five models side by side."`
	Reports     measureReportsCmd     `cmd:"" help:"List the saved funnels and reports (kind: funnel, kind: report, applied with parcours apply)."`
	Run         measureRunCmd         `cmd:"" help:"Run a saved funnel or report."`
	Costs       measureCostsCmd       `cmd:"" help:"Campaign costs (for acquisition cost): import a CSV of spend per channel, campaign and day; list them."`
	Status      measureStatusCmd      `cmd:"" help:"How far the measurement rollups are behind the event log."`
	Rebuild     measureRebuildCmd     `cmd:"" help:"Drop the measurement rollups and count the whole event log again (in the background)."`
}

// measureRange are the flags of a report over dates.
type measureRange struct {
	From string `help:"First day (2025-01-31), in the brand's time zone (serve's --time-zone). Default: 30 days before --to."`
	To   string `help:"Last day, included. Default: today."`
}

func (r measureRange) query() url.Values {
	q := url.Values{}
	if r.From != "" {
		q.Set("from", r.From)
	}
	if r.To != "" {
		q.Set("to", r.To)
	}
	return q
}

type measureKPIsCmd struct {
	remote
	measureRange
	KPIs     []string `name:"kpi" sep:"," help:"KPIs to show (default: the dashboard's ten). 'parcours measure kpis --list' names them all."`
	By       string   `help:"Break each KPI down by channel, source, store, fulfillment, campaign, acquisition, segment, journey or agent (NPS, CSAT)."`
	Interval string   `help:"Bucket of the series: day, week or month (default: by the range's length)." enum:",day,week,month" default:""`
	CSV      bool     `help:"Print CSV (every KPI, breakdown value and point of its series) instead of tables."`
	List     bool     `help:"List the KPIs with their formulas."`
}

func (c *measureKPIsCmd) Help() string {
	return `Every KPI is computed over whole days in the brand's time zone and compared with the previous
range of the same length; the sparkline shows its series. docs/measure.md defines each one.

  parcours measure kpis --from 2025-01-01 --to 2025-03-31
  parcours measure kpis --kpi revenue,orders,aov --by channel
  parcours measure kpis --from 2025-01-01 --to 2025-03-31 --csv > kpis.csv`
}

func (c *measureKPIsCmd) Run(g *config.Globals, e *env) error {
	if c.List {
		return listKPIs(e, g)
	}
	api, err := c.client(g)
	if err != nil {
		return err
	}
	q := c.query()
	if len(c.KPIs) > 0 {
		q.Set("kpis", strings.Join(c.KPIs, ","))
	}
	if c.By != "" {
		q.Set("breakdown", c.By)
	}
	if c.Interval != "" {
		q.Set("interval", c.Interval)
	}
	if c.CSV {
		q.Set("format", "csv")
		return api.call(e.ctx, "GET", "/api/v1/measure/kpis?"+q.Encode(), nil, e.stdout)
	}
	var rep measure.KPIReport
	if err := api.call(e.ctx, "GET", "/api/v1/measure/kpis?"+q.Encode(), nil, &rep); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, rep)
	}
	printKPIs(e.stdout, &rep)
	return nil
}

func listKPIs(e *env, g *config.Globals) error {
	list := measure.KPIs()
	if g.JSON {
		return printJSON(e.stdout, list)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KPI\tUNIT\tBREAKDOWNS\tFORMULA")
	for _, k := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Unit, strings.Join(k.Dims, ","), k.Formula)
	}
	return tw.Flush()
}

// printKPIs writes a report as tables: the KPIs, then each breakdown.
func printKPIs(w io.Writer, r *measure.KPIReport) {
	fmt.Fprintf(w, "%s to %s (%d days, %s) against %s to %s; counted up to event %d\n\n",
		r.Range.From, r.Range.To, r.Range.Days, r.TimeZone, r.Previous.From, r.Previous.To, r.AsOf)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "KPI\tVALUE\tPREVIOUS\tCHANGE\t%s\t\n", strings.ToUpper(r.Interval)+"S")
	for _, k := range r.KPIs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", k.Name, kpiValue(k.Unit, k.Value), kpiValue(k.Unit, k.Previous), changeText(k.Change), spark(k.Series))
	}
	tw.Flush()
	for _, k := range r.KPIs {
		if r.Breakdown == "" || len(k.Breakdown) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s by %s\n", k.Name, r.Breakdown)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\tVALUE\tPREVIOUS\tCHANGE\t\t\n", strings.ToUpper(r.Breakdown))
		for _, b := range k.Breakdown {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", orDash(b.Value), kpiValue(k.Unit, b.Current), kpiValue(k.Unit, b.Previous), changeText(b.Change), spark(b.Series))
		}
		tw.Flush()
	}
	var notes []string
	for _, k := range r.KPIs {
		if k.Note != "" {
			notes = append(notes, k.ID+": "+k.Note)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n%s\n", strings.Join(notes, "\n"))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// kpiValue writes a value by its unit: 1,234 orders, 1,234.50 money, 12.5%
// rates, +12.0 a score.
func kpiValue(unit string, v *float64) string {
	if v == nil {
		return "-"
	}
	switch unit {
	case "currency":
		return thousands(*v, 2)
	case "ratio":
		return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
	case "percent":
		return strconv.FormatFloat(*v, 'f', 1, 64) + "%"
	case "score":
		return fmt.Sprintf("%+.1f", *v)
	}
	return thousands(*v, 0)
}

// thousands writes v with a comma every three digits.
func thousands(v float64, decimals int) string {
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteString("." + frac)
	}
	return b.String()
}

func changeText(c *float64) string {
	if c == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", *c*100)
}

// spark draws a series as a line of bars (a gap where a point has no
// value).
func spark(points []measure.Point) string {
	if len(points) == 0 {
		return ""
	}
	bars := []rune("▁▂▃▄▅▆▇█")
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range points {
		if p.V != nil {
			lo, hi = math.Min(lo, *p.V), math.Max(hi, *p.V)
		}
	}
	var b strings.Builder
	for _, p := range points {
		switch {
		case p.V == nil:
			b.WriteRune(' ')
		case hi == lo:
			b.WriteRune(bars[0])
		default:
			b.WriteRune(bars[int((*p.V-lo)/(hi-lo)*float64(len(bars)-1)+0.5)])
		}
	}
	return b.String()
}

type measureCostsCmd struct {
	Import measureCostsImportCmd `cmd:"" help:"Import a CSV of campaign spend: date,channel,campaign,spend,currency (a row again replaces it)."`
	List   measureCostsListCmd   `cmd:"" help:"List the campaign costs of a date range."`
}

type measureCostsImportCmd struct {
	remote
	File string `arg:"" help:"CSV file with a header: date,channel,campaign,spend,currency." type:"existingfile"`
}

func (c *measureCostsImportCmd) Run(g *config.Globals, e *env) error {
	b, err := os.ReadFile(c.File)
	if err != nil {
		return err
	}
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out measure.CostImport
	if err := api.send(e.ctx, "POST", "/api/v1/measure/costs", "text/csv", b, &out); err != nil {
		return fmt.Errorf("%s: %w", c.File, err)
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "imported %d rows (%s to %s), %s spent\n", out.Rows, out.From, out.To, thousands(float64(out.Cents)/100, 2))
	return nil
}

type measureCostsListCmd struct {
	remote
	measureRange
}

func (c *measureCostsListCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out struct {
		Costs []struct {
			Date, Channel, Campaign, Currency string
			Cents                             int64
		} `json:"costs"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/measure/costs?"+c.query().Encode(), nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATE\tCHANNEL\tCAMPAIGN\tSPEND")
	for _, r := range out.Costs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s %s\n", r.Date, r.Channel, r.Campaign, thousands(float64(r.Cents)/100, 2), r.Currency)
	}
	return tw.Flush()
}

type measureStatusCmd struct{ remote }

func (c *measureStatusCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var st measure.Status
	if err := api.call(e.ctx, "GET", "/api/v1/measure/status", nil, &st); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, st)
	}
	fmt.Fprintf(e.stdout, "rollups count events up to %d of %d (%d behind; %d behind unify), days in %s\n", st.Checkpoint, st.LastSeq, st.Behind,
		st.BehindUnify, st.TimeZone)
	return nil
}

type measureRebuildCmd struct{ remote }

func (c *measureRebuildCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	if err := api.call(e.ctx, "POST", "/api/v1/measure/rebuild", nil, nil); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "rebuilding the measurement rollups from the event log; 'parcours measure status' shows the progress")
	return nil
}
