package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/segment"
)

type measureFunnelCmd struct {
	remote
	measureRange
	Step   []string `help:"A step: an event name, optionally @channel (Checkout Started@web). Repeat, in order." placeholder:"EVENT[@CHANNEL]"`
	File   string   `short:"f" help:"A funnel file (YAML or JSON: steps with event, where, channel; window; order) instead of --step." type:"existingfile"`
	Window string   `help:"Conversion window from the first step (7d, 24h, 30m)." default:"7d"`
	Order  string   `help:"sequence (the steps in order, other events between allowed), strict (no other tracked event between steps) or any." enum:"sequence,strict,any" default:"sequence"`
	CSV    bool     `help:"Print CSV: the steps, then the dropped customers by what they did next."`
}

func (c *measureFunnelCmd) Help() string {
	return `Customers (unified profiles, across devices and channels) who did the first step in the range,
and how far they went within the window; where they dropped and what they did next.

  parcours measure funnel --from 2025-02-01 --to 2025-02-28 \
    --step "Product Viewed" --step "Product Added" --step "Checkout Started" --step "Order Completed"
  parcours measure funnel -f examples/measure/checkout-funnel.yaml --window 1d`
}

func (c *measureFunnelCmd) query() (measure.FunnelQuery, error) {
	var q measure.FunnelQuery
	if c.File != "" {
		b, err := os.ReadFile(c.File)
		if err != nil {
			return q, err
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&q); err != nil {
			return q, fmt.Errorf("%s: %w (a funnel has steps: [{event, where, channel}], window, order)", c.File, err)
		}
	}
	for _, s := range c.Step {
		name, channel, _ := strings.Cut(s, "@")
		q.Steps = append(q.Steps, measure.FunnelStep{Event: strings.TrimSpace(name), Channel: strings.TrimSpace(channel)})
	}
	if q.Window == 0 || c.Window != "7d" {
		w, err := segment.ParseDuration(c.Window)
		if err != nil {
			return q, fmt.Errorf("--window: %w", err)
		}
		q.Window = w
	}
	if q.Order == "" || c.Order != "sequence" {
		q.Order = c.Order
	}
	if c.From != "" {
		q.From = c.From
	}
	if c.To != "" {
		q.To = c.To
	}
	if len(q.Steps) < 2 {
		return q, fmt.Errorf("a funnel needs at least two steps: --step \"Product Added\" --step \"Order Completed\", or -f FILE")
	}
	return q, nil
}

func (c *measureFunnelCmd) Run(g *config.Globals, e *env) error {
	q, err := c.query()
	if err != nil {
		return err
	}
	api, err := c.client(g)
	if err != nil {
		return err
	}
	if c.CSV {
		return api.call(e.ctx, "POST", "/api/v1/measure/funnel?format=csv", q, e.stdout)
	}
	var rep measure.FunnelReport
	if err := api.call(e.ctx, "POST", "/api/v1/measure/funnel", q, &rep); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, rep)
	}
	printFunnel(e.stdout, &rep)
	return nil
}

// printFunnel draws the steps as bars, then the friction points.
func printFunnel(w io.Writer, r *measure.FunnelReport) {
	entered := int64(0)
	if len(r.Steps) > 0 {
		entered = r.Steps[0].Customers
	}
	fmt.Fprintf(w, "%s to %s (%s), %s order, window %s: %s of %d customers converted (%d ms)\n\n",
		r.Range.From, r.Range.To, r.TimeZone, r.Order, r.Window, kpiValue("ratio", r.Conversion), entered, r.TookMs)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tCUSTOMERS\t\tCONVERSION\tFROM PREVIOUS\tMEDIAN TIME\tCHANNELS")
	for _, s := range r.Steps {
		share := 0.0
		if s.Conversion != nil {
			share = *s.Conversion
		}
		fmt.Fprintf(tw, "%d %s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Step, s.Name, thousands(float64(s.Customers), 0), bar(share, 24),
			kpiValue("ratio", s.Conversion), kpiValue("ratio", s.FromPrevious), orDash(s.Median), channelList(s.Channels))
	}
	tw.Flush()
	if len(r.Friction) == 0 {
		return
	}
	fmt.Fprintln(w, "\nWhere customers drop (worst first), and what they did next within the window")
	for _, f := range r.Friction {
		if f.Dropped == 0 {
			continue
		}
		fmt.Fprintf(w, "  after %d %s, not %s: %s dropped (%s)\n", f.After, f.Step, f.Next, thousands(float64(f.Dropped), 0), kpiValue("ratio", f.Rate))
		var then []string
		for _, t := range f.Then {
			what := strings.ReplaceAll(t.What, "_", " ")
			if t.Channel != "" {
				what += " (" + t.Channel + ")"
			}
			then = append(then, fmt.Sprintf("%s %d", what, t.Customers))
		}
		fmt.Fprintf(w, "    then: %s\n", strings.Join(then, ", "))
		if len(f.Ordered) > 0 {
			fmt.Fprintf(w, "    ordered anyway: %s\n", channelList(f.Ordered))
		}
		if len(f.TopNext) > 0 {
			var top []string
			for _, t := range f.TopNext {
				top = append(top, fmt.Sprintf("%s on %s %d", t.Event, t.Channel, t.Customers))
			}
			fmt.Fprintf(w, "    first events after: %s\n", strings.Join(top, ", "))
		}
	}
}

func channelList(cs []measure.ChannelCount) string {
	var out []string
	for _, c := range cs {
		out = append(out, fmt.Sprintf("%s %d", c.Channel, c.Customers))
	}
	return strings.Join(out, ", ")
}

// bar draws share (0-1) as a horizontal bar of width cells.
func bar(share float64, width int) string {
	eighths := int(share*float64(width*8) + 0.5)
	full, rest := eighths/8, eighths%8
	out := strings.Repeat("█", full)
	if rest > 0 {
		out += string([]rune("▏▎▍▌▋▊▉")[rest-1])
	}
	return out
}
