package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/bench"
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
)

type benchUnifyCmd struct {
	Rate     int           `help:"Events per second sent to /v1/track." default:"1000"`
	Duration time.Duration `help:"Measured time." default:"20s"`
	Warmup   time.Duration `help:"Unmeasured time before." default:"3s"`
	Runs     int           `help:"Runs; the summary reports medians." default:"3"`
}

// Run sends events at a fixed rate to a fresh server and reads, from its
// /metrics, how long events took from receipt to their profile's update.
func (c *benchUnifyCmd) Run(g *config.Globals, e *env) error {
	var p50s, p99s []float64
	for i := range max(c.Runs, 1) {
		srv, err := startBenchServer(e, g, nil, nil)
		if err != nil {
			return err
		}
		res, err := bench.Ingest(e.ctx, bench.IngestOptions{URL: srv.url, WriteKey: srv.writeKey, Endpoint: "track",
			Rate: c.Rate, Concurrency: 32, Duration: c.Duration, Warmup: c.Warmup})
		if err == nil {
			time.Sleep(500 * time.Millisecond) // let the last events through
		}
		var q map[string]float64
		if err == nil {
			q, err = scrapeSummary(srv.url, "parcours_unify_lag_seconds")
		}
		srv.stop()
		if err != nil {
			return err
		}
		p50s, p99s = append(p50s, q["0.5"]*1000), append(p99s, q["0.99"]*1000)
		if !g.JSON {
			fmt.Fprintf(e.stdout, "run %d: %.0f events/s sent; event to profile p50 %.2f ms, p99 %.2f ms\n", i+1, res.EventsPerSec, q["0.5"]*1000, q["0.99"]*1000)
		}
	}
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"p50_ms": p50s, "p99_ms": p99s, "median_p99_ms": median(p99s)})
	}
	fmt.Fprintf(e.stdout, "median: event to profile p50 %.2f ms, p99 %.2f ms\n", median(p50s), median(p99s))
	return nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// medianBy returns the median of f over the runs that keep says to keep
// (nil: all of them).
func medianBy[T any](runs []T, keep func(T) bool, f func(T) float64) float64 {
	var v []float64
	for _, r := range runs {
		if keep == nil || keep(r) {
			v = append(v, f(r))
		}
	}
	if len(v) == 0 {
		return 0
	}
	return median(v)
}

// openLoop calls send(n) for n from 0 to total-1, one due every 1/rate
// seconds, from workers goroutines, and returns once every call has
// returned: a slow server does not slow the schedule (the calls queue).
func openLoop(rate, total, workers int, send func(n int)) {
	jobs := make(chan int, 1024)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for n := range jobs {
				send(n)
			}
		})
	}
	interval := time.Second / time.Duration(rate)
	next := time.Now()
	for n := range total {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		next = next.Add(interval)
		jobs <- n
	}
	close(jobs)
	wg.Wait()
}

// scrapeSummary reads the quantiles of a summary metric from /metrics.
func scrapeSummary(url, name string) (map[string]float64, error) {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+`{quantile="`) {
			continue
		}
		q, rest, _ := strings.Cut(strings.TrimPrefix(line, name+`{quantile="`), `"} `)
		if v, err := strconv.ParseFloat(rest, 64); err == nil {
			out[q] = v
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bench: %s not found in /metrics", name)
	}
	return out, sc.Err()
}

type benchProfilesCmd struct {
	Profiles int `help:"Profiles to create (user id, email, phone and anonymous id each)." default:"1000000"`
	Lookups  int `help:"Lookups by a random identifier through the API." default:"20000"`
}

// Run fills a store with profiles, starts a server on it, looks profiles up
// by random identifiers through the API, and reports latency and the
// server's peak resident memory.
func (c *benchProfilesCmd) Run(g *config.Globals, e *env) error {
	start := time.Now()
	srv, err := startBenchServer(e, g, nil, func(st store.Store) error { return fillProfiles(e, st, c.Profiles) })
	if err != nil {
		return err
	}
	defer srv.stop()
	filled := time.Since(start)
	key, err := server.ReadAdminKey(srv.dataDir)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := []string{"user_id=c%d", "email=c%d@mail.example", "phone=%%2B3361%07d", "anonymous_id=a%d"}
	lat := make([]time.Duration, 0, c.Lookups)
	for i := range c.Lookups + 500 {
		n := rng.IntN(c.Profiles)
		q := fmt.Sprintf(kinds[i%len(kinds)], n)
		req, _ := http.NewRequestWithContext(e.ctx, http.MethodGet, srv.url+"/api/v1/profiles?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		t := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("bench: lookup %s: HTTP %d", q, resp.StatusCode)
		}
		if i >= 500 { // the first ones warm the connection and caches
			lat = append(lat, time.Since(t))
		}
	}
	rss, hwm := procMemory(srv.cmd.Process.Pid)
	api := percentiles(lat)
	// The same lookups straight on the store (identifier -> holder ->
	// profile), without HTTP and JSON, in this process.
	st, err := openStore(e.ctx, &config.Globals{DataDir: srv.dataDir, Database: g.Database})
	if err != nil {
		return err
	}
	defer st.Close()
	rules := identity.DefaultRules()
	lat = lat[:0]
	for i := range c.Lookups {
		n := rng.IntN(c.Profiles)
		raw := []identity.Raw{{Kind: identity.UserID, Value: fmt.Sprintf("c%d", n)}, {Kind: identity.Email, Value: fmt.Sprintf("C%d@Mail.example ", n)},
			{Kind: identity.Phone, Value: fmt.Sprintf("061%07d", n)}, {Kind: identity.AnonymousID, Value: fmt.Sprintf("a%d", n)}}[i%4]
		t := time.Now()
		id, _ := rules.Normalize(raw)
		h, err := st.Holders(e.ctx, []identity.Identifier{id})
		if err == nil {
			_, err = st.Profile(e.ctx, h[id])
		}
		if err != nil {
			return fmt.Errorf("bench: store lookup %s: %w", id, err)
		}
		lat = append(lat, time.Since(t))
	}
	direct := percentiles(lat)
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"profiles": c.Profiles, "fill_seconds": filled.Seconds(),
			"api_ms": api, "store_ms": direct, "rss_mib": rss, "peak_rss_mib": hwm})
	}
	fmt.Fprintf(e.stdout, "%d profiles written in %s\n", c.Profiles, filled.Round(time.Second))
	fmt.Fprintf(e.stdout, "lookup by identifier, API over HTTP (%d lookups): p50 %.3f ms, p90 %.3f ms, p99 %.3f ms\n", c.Lookups, api["p50"], api["p90"], api["p99"])
	fmt.Fprintf(e.stdout, "lookup by identifier, store (%d lookups):         p50 %.3f ms, p90 %.3f ms, p99 %.3f ms\n", c.Lookups, direct["p50"], direct["p90"], direct["p99"])
	fmt.Fprintf(e.stdout, "server resident memory: %d MiB now, %d MiB peak\n", rss, hwm)
	return nil
}

// percentiles returns p50, p90 and p99 of lat in milliseconds.
func percentiles(lat []time.Duration) map[string]float64 {
	s := append([]time.Duration(nil), lat...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	p := func(q float64) float64 { return float64(s[int(float64(len(s)-1)*q)].Microseconds()) / 1000 }
	return map[string]float64{"p50": p(0.5), "p90": p(0.9), "p99": p(0.99)}
}

// fillProfiles writes n profiles straight into the store, as the unify
// stage would have.
func fillProfiles(e *env, st store.Store, n int) error {
	const batch = 10_000
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < n; start += batch {
		b := &store.UnifyBatch{Consumer: "bench-fill"}
		for i := start; i < min(start+batch, n); i++ {
			p := profile.New(int64(i + 1))
			p.Identifiers = []identity.Identifier{
				{Kind: identity.UserID, Value: fmt.Sprintf("c%d", i)},
				{Kind: identity.Email, Value: fmt.Sprintf("c%d@mail.example", i)},
				{Kind: identity.Phone, Value: fmt.Sprintf("+3361%07d", i)},
				{Kind: identity.AnonymousID, Value: fmt.Sprintf("a%d", i)},
			}
			name, _ := json.Marshal(fmt.Sprintf("Customer %d", i))
			p.SetTrait("name", profile.Trait{Value: name, At: t0, SourceID: "bench", MessageID: "m"})
			p.SetTrait("city", profile.Trait{Value: json.RawMessage(`"Lyon"`), At: t0, SourceID: "bench", MessageID: "m"})
			b.Profiles = append(b.Profiles, p)
			for _, id := range p.Identifiers {
				b.Links = append(b.Links, store.Link{Identifier: id, Profile: p.ID})
			}
		}
		if err := st.ApplyUnify(context.WithoutCancel(e.ctx), b); err != nil {
			return err
		}
		if e.ctx.Err() != nil {
			return e.ctx.Err()
		}
		if interactive(e.stderr) {
			fmt.Fprintf(e.stderr, "\rprofiles written: %d/%d", min(start+batch, n), n)
		}
	}
	if interactive(e.stderr) {
		fmt.Fprintln(e.stderr)
	}
	return nil
}

// procMemory reads a process's resident and peak resident memory in MiB.
func procMemory(pid int) (rss, hwm int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

// procCPU returns the CPU time (user + system) process pid has used so
// far, or 0 if it cannot be read.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count fields after ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}
