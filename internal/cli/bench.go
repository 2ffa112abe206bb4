package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/bench"
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
	streams "github.com/parcours/parcours/internal/stream"
)

type benchCmd struct {
	Ingest    benchIngestCmd    `cmd:"" help:"Load the tracking API and report events/s and latency percentiles."`
	Unify     benchUnifyCmd     `cmd:"" help:"Send events at a fixed rate and report how long each takes to reach its profile."`
	Profiles  benchProfilesCmd  `cmd:"" help:"Fill a store with profiles and report lookup latency by identifier and the server's memory."`
	Journey   benchJourneyCmd   `cmd:"" help:"Send Product Added events at a fixed rate to a real server whose journey emails each customer at once, and report the time from each event's acknowledgement to its email at an SMTP server, with losses and duplicates."`
	Segments  benchSegmentsCmd  `cmd:"" help:"Send Product Viewed events at a fixed rate to a real server with live segments and report the time from each event's receipt to the segment entry it caused, for new and known customers."`
	Send      benchSendCmd      `cmd:"" help:"Send emails through a real server to an SMTP sink (a broadcast, and the API) and report emails/s, CPU per email, memory, losses and duplicates."`
	Recommend benchRecommendCmd `cmd:"" help:"Hold out each generated customer's last order and report hit rate@10 and NDCG@10 of each recommendation against a popularity baseline, the model's learning time and memory, and query latency."`
}

type benchIngestCmd struct {
	URL         string        `help:"Server to load. Empty: start this binary's server on a temporary data directory, once in decode-only mode (the floor) and once for real, and compare."`
	WriteKey    string        `help:"Write key to send with (with --url)."`
	Endpoint    string        `help:"batch (--batch events per request) or track (one event per request)." enum:"batch,track" default:"batch"`
	Batch       int           `help:"Events per batch request." default:"100"`
	EventSize   int           `help:"Approximate bytes of JSON per event." default:"600"`
	Concurrency int           `help:"Requests in flight." default:"16"`
	Rate        int           `help:"Requests per second (open loop, latency measured from when each request was due). 0: as fast as possible."`
	Duration    time.Duration `help:"Measured time of each run." default:"15s"`
	Warmup      time.Duration `help:"Unmeasured time before each run." default:"3s"`
	Runs        int           `help:"Runs of each mode; the summary reports medians." default:"3"`
	Floor       bool          `help:"Also measure the decode-only floor (without --url)." default:"true" negatable:""`
	Stages      bool          `help:"Also follow how far each stage of the server's pipeline (unify, segments, consent, journeys, commerce, measure, loyalty) stays behind ingestion, from its /metrics once a second, and how long each takes to catch up after the load stops. The run kept up when every stage stayed under 5 s behind."`
	Drain       time.Duration `help:"With --stages: how long to wait after the load for the stages to catch up." default:"2m"`
	NATS        string        `name:"nats" help:"Without --url, with --database postgres://...: also measure serve --nats URL (acknowledged once in JetStream; docs/scale.md), each run on a stream of its own, deleted after." placeholder:"URL"`
	ServerArgs  []string      `name:"server-arg" sep:"none" help:"Without --url: a flag for each server started, e.g. --server-arg=--log-tail=0 (repeat it for several)." placeholder:"FLAG"`
	// ServerProfile writes a CPU profile of each server it starts.
	ServerProfile string `help:"Without --url: write a CPU profile of each server started to PREFIX-MODE-RUN.prof (go tool pprof), to see where the server's time goes." placeholder:"PREFIX" type:"path"`
}

type benchRun struct {
	Mode string `json:"mode"`
	bench.IngestResult
}

func (c *benchIngestCmd) Run(g *config.Globals, e *env) error {
	opts := bench.IngestOptions{
		URL: c.URL, WriteKey: c.WriteKey, Endpoint: c.Endpoint, BatchSize: c.Batch, EventSize: c.EventSize,
		Concurrency: c.Concurrency, Rate: c.Rate, Duration: c.Duration, Warmup: c.Warmup,
		Stages: c.Stages, Drain: c.Drain,
	}
	if c.NATS != "" && (c.URL != "" || g.Database == "") {
		return fmt.Errorf("bench ingest --nats %s: needs --database postgres://... and no --url (it starts serve --nats on that database)", c.NATS)
	}
	modes := []string{"durable"}
	if c.URL == "" && c.Floor {
		modes = []string{"decode-only", "durable"}
	}
	if c.URL == "" && c.NATS != "" {
		modes = append(modes, "nats")
	}
	if c.URL != "" {
		modes = []string{"target"}
	}
	if c.Endpoint == "track" {
		opts.BatchSize = 1 // one event per request
	}
	var runs []benchRun
	for i := range max(c.Runs, 1) {
		for _, mode := range modes {
			o := opts
			o.RunID = strconv.FormatInt(time.Now().UnixNano(), 36)
			var srv *benchServer
			if c.URL == "" {
				var args []string
				if mode == "decode-only" {
					args = []string{"--decode-only"}
				}
				stream := ""
				if mode == "nats" {
					stream = "BENCH_" + strings.ToUpper(o.RunID)
					args = []string{"--nats", c.NATS, "--nats-stream", stream}
				}
				args = append(args, c.ServerArgs...)
				if c.ServerProfile != "" {
					args = append(args, "--cpu-profile", fmt.Sprintf("%s-%s-%d.prof", c.ServerProfile, mode, i+1))
				}
				var err error
				if srv, err = startBenchServer(e, g, args, nil); err != nil {
					return err
				}
				if stream != "" {
					srv.after = func() { _ = streams.Delete(context.Background(), c.NATS, stream) }
				}
				o.URL, o.WriteKey = srv.url, srv.writeKey
			}
			if !g.JSON {
				fmt.Fprintf(e.stderr, "run %d/%d %-11s %s x%d, %d in flight, %s ...\n", i+1, c.Runs, mode, c.Endpoint, o.BatchSize, c.Concurrency, c.Duration)
			}
			var cpu0 time.Duration
			start := time.Now()
			if srv != nil {
				cpu0 = procCPU(srv.cmd.Process.Pid)
			}
			res, err := bench.Ingest(e.ctx, o)
			if srv != nil {
				_, res.ServerPeakRSS = procMemory(srv.cmd.Process.Pid)
				res.ServerCores = (procCPU(srv.cmd.Process.Pid) - cpu0).Seconds() / time.Since(start).Seconds()
				srv.stop()
			}
			if err != nil {
				return err
			}
			runs = append(runs, benchRun{mode, res})
		}
	}
	return c.report(g, e, runs, modes)
}

func (c *benchIngestCmd) report(g *config.Globals, e *env, runs []benchRun, modes []string) error {
	median := map[string]benchRun{}
	for _, mode := range modes {
		var of []benchRun
		for _, r := range runs {
			if r.Mode == mode {
				of = append(of, r)
			}
		}
		median[mode] = medianRun(mode, of)
	}
	ratio := 0.0
	if f, ok := median["decode-only"]; ok && f.EventsPerSec > 0 {
		ratio = median["durable"].EventsPerSec / f.EventsPerSec
	}
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"runs": runs, "median": median, "durable_over_floor": ratio})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\tevents/s\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\t503 max ms\tserver peak MiB\tserver cores\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t%v\t%.0f\t%d\t%.2f\t\n", r.Mode, r.EventsPerSec, r.ReqPerSec, r.P50, r.P90, r.P99, r.Max, errorsText(r.Errors), r.RefusedMax, r.ServerPeakRSS, r.ServerCores)
	}
	for _, mode := range modes {
		r := median[mode]
		fmt.Fprintf(tw, "median %s\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%.2f\t\t\t\t%.2f\t\n", mode, r.EventsPerSec, r.ReqPerSec, r.P50, r.P90, r.P99, r.Max, r.ServerCores)
	}
	tw.Flush()
	for i, r := range runs {
		if len(r.Stages) == 0 {
			continue
		}
		fmt.Fprintf(e.stdout, "\nrun %d (%s, %.0f events/s): how far each stage stayed behind ingestion\n", i/len(modes)+1, r.Mode, r.EventsPerSec)
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "stage\tp50 lag s\tmax lag s\tmax behind (events)\tcaught up after load s\t")
		for _, l := range r.Stages {
			drain := "not within --drain"
			if l.Drain >= 0 {
				drain = fmt.Sprintf("%.1f", l.Drain)
			}
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%d\t%s\t\n", l.Stage, l.P50, l.Max, l.MaxBehind, drain)
		}
		tw.Flush()
		if bench.KeptUp(r.Stages, 5) {
			fmt.Fprintln(e.stdout, "every stage kept up: under 5 s behind throughout")
		} else {
			fmt.Fprintln(e.stdout, "the pipeline did NOT keep up: a stage fell 5 s or more behind (or did not catch up)")
		}
	}
	if n, ok := median["nats"]; ok && median["durable"].EventsPerSec > 0 {
		fmt.Fprintf(e.stdout, "nats / durable: %.0f%% (medians of %d runs)\n", n.EventsPerSec/median["durable"].EventsPerSec*100, len(runs)/len(modes))
	}
	if ratio > 0 {
		fmt.Fprintf(e.stdout, "durable / decode-only floor: %.0f%% (medians of %d runs)\n", ratio*100, len(runs)/len(modes))
	}
	return nil
}

// medianRun takes the median of each figure of runs separately.
func medianRun(mode string, runs []benchRun) benchRun {
	pick := func(f func(benchRun) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	m := benchRun{Mode: mode}
	m.Endpoint = runs[0].Endpoint
	m.EventsPerSec = pick(func(r benchRun) float64 { return r.EventsPerSec })
	m.ReqPerSec = pick(func(r benchRun) float64 { return r.ReqPerSec })
	m.P50 = bench.Millis(pick(func(r benchRun) float64 { return float64(r.P50) }))
	m.P90 = bench.Millis(pick(func(r benchRun) float64 { return float64(r.P90) }))
	m.P99 = bench.Millis(pick(func(r benchRun) float64 { return float64(r.P99) }))
	m.Max = bench.Millis(pick(func(r benchRun) float64 { return float64(r.Max) }))
	m.ServerCores = pick(func(r benchRun) float64 { return r.ServerCores })
	return m
}

func errorsText(m map[string]int) string {
	if len(m) == 0 {
		return "-"
	}
	return fmt.Sprint(m)
}

// benchServer is this binary's serve, started for a benchmark.
type benchServer struct {
	url      string
	writeKey string
	dataDir  string
	cmd      *exec.Cmd
	cleanup  []string // more to remove at stop (files the server reads)
	after    func()   // run at stop, if set
}

// stop shuts the server down and removes its data directory.
func (b *benchServer) stop() {
	b.cmd.Process.Signal(syscall.SIGTERM)
	b.cmd.Wait()
	os.RemoveAll(b.dataDir)
	for _, d := range b.cleanup {
		os.RemoveAll(d)
	}
	if b.after != nil {
		b.after()
	}
}

// startBenchServer starts `parcours serve` (this binary) on a free port and
// a temporary data directory, with a fresh source, after prepare (if any)
// has filled the store, and waits until it is ready.
func startBenchServer(e *env, g *config.Globals, args []string, prepare func(store.Store) error) (*benchServer, error) {
	dir, err := os.MkdirTemp("", "parcours-bench-")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*benchServer, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	st, err := openStore(e.ctx, &config.Globals{DataDir: dir, Database: g.Database})
	if err != nil {
		return fail(err)
	}
	src, _ := source.New("bench "+strconv.FormatInt(time.Now().UnixNano(), 36), "server", "", time.Now())
	err = st.CreateSource(e.ctx, src)
	if err == nil && prepare != nil {
		err = prepare(st)
	}
	st.Close()
	if err != nil {
		return fail(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	addr := l.Addr().String()
	l.Close()
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	args = append([]string{"serve", "--data-dir", dir, "--addr", addr, "--log-level", "warn"}, args...)
	if g.Database != "" {
		args = append(args, "--database", g.Database)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = e.stderr
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	b := &benchServer{url: "http://" + addr, writeKey: src.WriteKey, dataDir: dir, cmd: cmd}
	if err := waitReady(e.ctx, b.url+"/readyz", 60*time.Second); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

func waitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("bench: the server did not become ready within " + timeout.String())
}
