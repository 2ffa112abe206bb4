package cli

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/server"
)

type benchSegmentsCmd struct {
	Segments   int           `help:"Live segments, each entered by the first view of its own product." default:"100"`
	Rate       int           `help:"Product Viewed events per second sent to /v1/track." default:"500"`
	Duration   time.Duration `help:"How long the events are sent." default:"60s"`
	Customers  []string      `help:"Whose events: new (a new anonymous visitor each) and/or known (customers identified before the run)." enum:"new,known" default:"new,known"`
	Runs       int           `help:"Runs of each kind; the summary reports medians." default:"3"`
	ServerArgs []string      `name:"server-arg" sep:"none" help:"A flag for each server started (repeat it for several)." placeholder:"FLAG"`
}

// segmentsRun is what one run measured: the server's own summary of the
// time from an event's receipt to the segment entry it caused, recorded.
type segmentsRun struct {
	Customers string  `json:"customers"`
	Sent      int64   `json:"events_acknowledged"`
	Refused   int64   `json:"events_refused"`
	Rate      float64 `json:"events_per_sec"`
	P50       float64 `json:"p50_ms"`
	P90       float64 `json:"p90_ms"`
	P99       float64 `json:"p99_ms"`
	Cores     float64 `json:"server_cores"`
}

// Run sends Product Viewed events at a fixed rate to a fresh server with
// live segments, each event entering its customer in one segment, and
// reads from the server's /metrics how long each entry took from the
// event's receipt (parcours_segment_entry_seconds).
func (c *benchSegmentsCmd) Run(g *config.Globals, e *env) error {
	if c.Segments < 1 || c.Rate < 1 {
		return fmt.Errorf("--segments and --rate must be at least 1")
	}
	var runs []segmentsRun
	for i := range max(c.Runs, 1) {
		for _, who := range c.Customers {
			if !g.JSON {
				fmt.Fprintf(e.stderr, "run %d/%d %s customers: %d events/s for %s, %d segments ...\n", i+1, c.Runs, who, c.Rate, c.Duration, c.Segments)
			}
			r, err := c.run(e, g, who)
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
	}
	return c.report(g, e, runs)
}

func (c *benchSegmentsCmd) run(e *env, g *config.Globals, who string) (segmentsRun, error) {
	srv, err := startBenchServer(e, g, c.ServerArgs, nil)
	if err != nil {
		return segmentsRun{}, err
	}
	defer srv.stop()
	api, err := srv.api()
	if err != nil {
		return segmentsRun{}, err
	}
	total := int(c.Duration.Seconds() * float64(c.Rate))
	if who == "known" {
		if err := seedRecipients(e.ctx, api, srv, total); err != nil {
			return segmentsRun{}, err
		}
	}
	var defs []string
	for i := range c.Segments {
		defs = append(defs, fmt.Sprintf(`{"id":"viewed-%d","name":"Viewed product %d","where":{"performed":{"event":"Product Viewed","where":{"sku":"SKU-%d"}}}}`, i, i, i))
	}
	if err := api.do("POST", "/api/v1/segments?wait=true", `{"segments":[`+strings.Join(defs, ",")+`]}`, nil); err != nil {
		return segmentsRun{}, err
	}
	pid := srv.cmd.Process.Pid
	cpu0, start := procCPU(pid), time.Now()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var sent, refused atomic.Int64
	openLoop(c.Rate, total, 64, func(n int) {
		id := fmt.Sprintf(`"anonymousId":"visitor-%d"`, n)
		if who == "known" {
			id = fmt.Sprintf(`"userId":"r%d"`, n)
		}
		body := fmt.Sprintf(`{%s,"event":"Product Viewed","properties":{"sku":"SKU-%d","name":"Trail runner"}}`, id, n%c.Segments)
		req, _ := http.NewRequest("POST", srv.url+"/v1/track", strings.NewReader(body))
		req.SetBasicAuth(srv.writeKey, "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == 200 {
			sent.Add(1)
		} else {
			refused.Add(1)
		}
	})
	elapsed := time.Since(start)
	if err := api.settle(e.ctx); err != nil {
		return segmentsRun{}, err
	}
	cpu := procCPU(pid) - cpu0
	q, err := scrapeSummary(srv.url, "parcours_segment_entry_seconds")
	if err != nil {
		return segmentsRun{}, err
	}
	return segmentsRun{Customers: who, Sent: sent.Load(), Refused: refused.Load(), Rate: float64(sent.Load()) / elapsed.Seconds(),
		P50: q["0.5"] * 1000, P90: q["0.9"] * 1000, P99: q["0.99"] * 1000, Cores: cpu.Seconds() / time.Since(start).Seconds()}, nil
}

func (c *benchSegmentsCmd) report(g *config.Globals, e *env, runs []segmentsRun) error {
	medians := map[string]segmentsRun{}
	for _, who := range c.Customers {
		of := func(r segmentsRun) bool { return r.Customers == who }
		pick := func(f func(segmentsRun) float64) float64 { return medianBy(runs, of, f) }
		medians[who] = segmentsRun{Customers: who, Rate: pick(func(r segmentsRun) float64 { return r.Rate }),
			P50: pick(func(r segmentsRun) float64 { return r.P50 }), P90: pick(func(r segmentsRun) float64 { return r.P90 }),
			P99: pick(func(r segmentsRun) float64 { return r.P99 }), Cores: pick(func(r segmentsRun) float64 { return r.Cores })}
	}
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"runs": runs, "median": medians})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "customers\tevents/s\tacknowledged\trefused\tp50 ms\tp90 ms\tp99 ms\tserver cores\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%.0f\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.2f\t\n", r.Customers, r.Rate, r.Sent, r.Refused, r.P50, r.P90, r.P99, r.Cores)
	}
	for _, who := range c.Customers {
		r := medians[who]
		fmt.Fprintf(tw, "median %s\t%.0f\t\t\t%.1f\t%.1f\t%.1f\t%.2f\t\n", who, r.Rate, r.P50, r.P90, r.P99, r.Cores)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "latency: from the receipt of the event that made a customer enter a segment to the entry recorded (the server's parcours_segment_entry_seconds)")
	return nil
}

// api returns a client of the server's management API.
func (b *benchServer) api() (*benchAPI, error) {
	key, err := server.ReadAdminKey(b.dataDir)
	if err != nil {
		return nil, err
	}
	return &benchAPI{url: b.url, key: key, client: &http.Client{Timeout: time.Minute}}, nil
}
