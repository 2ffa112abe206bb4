package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/measure"
)

type measureAttributionCmd struct {
	remote
	measureRange
	By       string `help:"Group touchpoints by touchpoint (kind, channel, campaign), channel, journey or kind." enum:"touchpoint,channel,journey,kind" default:"touchpoint"`
	Lookback string `help:"How long before an order a touch may be credited." default:"30d"`
	HalfLife string `help:"The time-decay model's half-life." default:"7d"`
	Revenue  bool   `help:"Show credited revenue instead of credited orders."`
	CSV      bool   `help:"Print CSV: one row per touchpoint and model."`
}

func (c *measureAttributionCmd) Help() string {
	return `Every order of the range is credited to its customer's touchpoints in the lookback window before it
(a visit from a campaign link, a message sent, opened or clicked, a store visit, a call-center contact),
under five models side by side: first touch, last touch, linear, time decay and position based
(40 % first, 40 % last, 20 % shared by the middle).

  parcours measure attribution --from 2025-02-01 --to 2025-02-28
  parcours measure attribution --by journey --revenue`
}

func (c *measureAttributionCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	q := c.query()
	q.Set("by", c.By)
	q.Set("lookback", c.Lookback)
	q.Set("half_life", c.HalfLife)
	if c.CSV {
		q.Set("format", "csv")
		return api.call(e.ctx, "GET", "/api/v1/measure/attribution?"+q.Encode(), nil, e.stdout)
	}
	var rep measure.AttributionReport
	if err := api.call(e.ctx, "GET", "/api/v1/measure/attribution?"+q.Encode(), nil, &rep); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, rep)
	}
	printAttribution(e.stdout, &rep, c.Revenue)
	return nil
}

func printAttribution(w io.Writer, r *measure.AttributionReport, revenue bool) {
	fmt.Fprintf(w, "%s to %s (%s): %s orders, %s revenue; lookback %s, time-decay half-life %s; %s orders had no touchpoint\n\n",
		r.Range.From, r.Range.To, r.TimeZone, thousands(float64(r.Orders), 0), thousands(r.Revenue, 2), r.Lookback, r.HalfLife,
		thousands(float64(r.Unattributed), 0))
	what := "ORDERS"
	if revenue {
		what = "REVENUE"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	head := strings.ToUpper(r.By) + "\tTOUCHES\t"
	for _, m := range r.Models {
		head += strings.ToUpper(strings.ReplaceAll(m, "_", " ")) + " " + what + "\t"
	}
	fmt.Fprintln(tw, head)
	for _, row := range r.Rows {
		name := row.Journey
		switch r.By {
		case measure.ByTouchpoint:
			name = strings.Trim(strings.Join([]string{row.Kind, row.Channel, row.Campaign}, " "), " ")
		case measure.ByChannel:
			name = row.Channel
		case measure.ByKind:
			name = row.Kind
		}
		if row.Kind == "(none)" {
			name = "(no touchpoint)"
		}
		line := name + "\t" + thousands(float64(row.Touches), 0) + "\t"
		for _, m := range r.Models {
			v := row.Credit[m]
			if revenue {
				line += thousands(v.Revenue, 2) + "\t"
			} else {
				line += thousands(v.Orders, 1) + "\t"
			}
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}
