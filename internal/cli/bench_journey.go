package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/bench"
	"github.com/parcours/parcours/internal/config"
)

type benchJourneyCmd struct {
	Rate       int           `help:"Product Added events per second sent to /v1/track." default:"1000"`
	Duration   time.Duration `help:"How long the events are sent." default:"60s"`
	Customers  int           `help:"Opted-in customers the events are spread over." default:"5000"`
	Pool       int           `help:"SMTP connections the server's provider keeps." default:"16"`
	Runs       int           `help:"Runs; the summary reports medians." default:"3"`
	Drain      time.Duration `help:"Longest wait, after the load, for the last emails." default:"2m"`
	ServerArgs []string      `name:"server-arg" sep:"none" help:"A flag for each server started (repeat it for several)." placeholder:"FLAG"`
}

// journeyRun is what one run measured.
type journeyRun struct {
	Sent       int     `json:"events_acknowledged"`
	Delivered  int     `json:"emails_delivered"`
	Lost       int     `json:"lost"`
	Duplicates int     `json:"duplicates"`
	Refused    int     `json:"events_refused"`
	Rate       float64 `json:"events_per_sec"`
	P50        float64 `json:"p50_ms"`
	P90        float64 `json:"p90_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	PeakMiB    int64   `json:"server_peak_rss_mib"`
	Cores      float64 `json:"server_cores"`
	// Stages is how far each stage stayed behind the log while the events
	// were sent: where the time went.
	Stages []bench.StageLag `json:"stages,omitempty"`
}

// Run measures an event's way to a customer through a real server: a
// journey triggered by Product Added with an immediate email, events sent
// at a fixed rate, and the time from each event's acknowledgement to its
// email at the SMTP sink.
func (c *benchJourneyCmd) Run(g *config.Globals, e *env) error {
	if c.Rate < 1 || c.Customers < 1 {
		return fmt.Errorf("--rate and --customers must be at least 1")
	}
	var runs []journeyRun
	for i := range max(c.Runs, 1) {
		if !g.JSON {
			fmt.Fprintf(e.stderr, "run %d/%d: %d events/s for %s over %d customers ...\n", i+1, c.Runs, c.Rate, c.Duration, c.Customers)
		}
		r, err := c.run(e, g)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	return c.report(g, e, runs)
}

func (c *benchJourneyCmd) run(e *env, g *config.Globals) (journeyRun, error) {
	sink, err := bench.StartSMTPSink()
	if err != nil {
		return journeyRun{}, err
	}
	defer sink.Close()
	var mu sync.Mutex
	acked := map[string]time.Time{}   // ref → acknowledgement
	arrived := map[string]time.Time{} // ref → first email
	dups := 0
	sink.OnEmail = func(msg *mail.Message, at time.Time) {
		ref, ok := strings.CutPrefix(msg.Header.Get("Subject"), "Ref ")
		if !ok {
			return
		}
		mu.Lock()
		if _, seen := arrived[ref]; seen {
			dups++
		} else {
			arrived[ref] = at
		}
		mu.Unlock()
	}
	srv, api, err := startSinkServer(e, g, sink, c.Pool, c.ServerArgs)
	if err != nil {
		return journeyRun{}, err
	}
	defer srv.stop()
	if err := seedRecipients(e.ctx, api, srv, c.Customers); err != nil {
		return journeyRun{}, err
	}
	if err := api.do("POST", "/api/v1/templates", `{"id":"added","topic":"order_updates","body":{"email":{
		"subject":"Ref {{ event.ref }}","html":"<p>Bonjour {{ profile.first_name }}, votre {{ event.name }} vous attend.</p>"}}}`, nil); err != nil {
		return journeyRun{}, err
	}
	if err := api.do("POST", "/api/v1/journeys", `{"journeys":[{"id":"added","name":"Product added",
		"triggers":[{"event":"Product Added"}],"re_entry":{"policy":"always","key":"ref"},
		"steps":[{"send":{"channel":"email","template":"added"}}]}]}`, nil); err != nil {
		return journeyRun{}, err
	}
	pid := srv.cmd.Process.Pid
	cpu0, start := procCPU(pid), time.Now()

	// Open loop: one event due every 1/rate, sent by 64 workers.
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	refused := 0
	watch := bench.WatchStages(e.ctx, srv.url)
	openLoop(c.Rate, int(c.Duration.Seconds()*float64(c.Rate)), 64, func(n int) {
		ref := fmt.Sprintf("e%d", n)
		body := fmt.Sprintf(`{"userId":"r%d","event":"Product Added","properties":{"ref":%q,"name":"Trail runner","sku":"SHOE-42"}}`, n%c.Customers, ref)
		req, _ := http.NewRequest("POST", srv.url+"/v1/track", strings.NewReader(body))
		req.SetBasicAuth(srv.writeKey, "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		at := time.Now()
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		mu.Lock()
		if err == nil && resp.StatusCode == 200 {
			acked[ref] = at
		} else {
			refused++
		}
		mu.Unlock()
	})
	elapsed := time.Since(start)
	stages := watch.Stop()

	deadline := time.Now().Add(c.Drain)
	for time.Now().Before(deadline) {
		mu.Lock()
		done := len(arrived) >= len(acked)
		mu.Unlock()
		if done {
			time.Sleep(time.Second) // a duplicate would come now
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cpu := procCPU(pid) - cpu0
	_, peak := procMemory(pid)
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	for ref, a := range acked {
		if at, ok := arrived[ref]; ok {
			lat = append(lat, max(at.Sub(a), 0))
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		i := min(max(int(float64(len(lat))*p+0.5)-1, 0), len(lat)-1)
		return float64(lat[i].Microseconds()) / 1000
	}
	return journeyRun{Sent: len(acked), Delivered: len(lat), Lost: len(acked) - len(lat), Duplicates: dups, Refused: refused,
		Rate: float64(len(acked)) / elapsed.Seconds(), P50: pct(0.5), P90: pct(0.9), P99: pct(0.99), Max: pct(1),
		PeakMiB: peak, Cores: cpu.Seconds() / time.Since(start).Seconds(), Stages: stages}, nil
}

func (c *benchJourneyCmd) report(g *config.Globals, e *env, runs []journeyRun) error {
	pick := func(f func(journeyRun) float64) float64 { return medianBy(runs, nil, f) }
	m := journeyRun{Rate: pick(func(r journeyRun) float64 { return r.Rate }), P50: pick(func(r journeyRun) float64 { return r.P50 }),
		P90: pick(func(r journeyRun) float64 { return r.P90 }), P99: pick(func(r journeyRun) float64 { return r.P99 }),
		Max: pick(func(r journeyRun) float64 { return r.Max }), Cores: pick(func(r journeyRun) float64 { return r.Cores })}
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"runs": runs, "median": m})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tevents/s\tacknowledged\tdelivered\tlost\ttwice\trefused\tp50 ms\tp90 ms\tp99 ms\tmax ms\tserver cores\tpeak MiB\t")
	for i, r := range runs {
		fmt.Fprintf(tw, "%d\t%.0f\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%d\t\n", i+1, r.Rate, r.Sent, r.Delivered, r.Lost, r.Duplicates, r.Refused, r.P50, r.P90, r.P99, r.Max, r.Cores, r.PeakMiB)
	}
	fmt.Fprintf(tw, "median\t%.0f\t\t\t\t\t\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t\t\n", m.Rate, m.P50, m.P90, m.P99, m.Max, m.Cores)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "latency: from each event's acknowledgement (200 from /v1/track) to its email accepted by the SMTP server")
	for i, r := range runs {
		if len(r.Stages) == 0 {
			continue
		}
		fmt.Fprintf(e.stdout, "\nrun %d: how far each stage stayed behind the log while the events were sent\n", i+1)
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "stage\tp50 lag s\tmax lag s\tmax behind (events)\t")
		for _, l := range r.Stages {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%d\t\n", l.Stage, l.P50, l.Max, l.MaxBehind)
		}
		tw.Flush()
	}
	return nil
}
