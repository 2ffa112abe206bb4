package cli

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/bench"
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/recommend"
)

type benchRecommendCmd struct {
	remote
	Live          bool     `help:"Instead of the offline evaluation: query the running serve (--server, else the data directory's) for --queries random profiles' for_you and report latency percentiles and the model's size; then time a rebuild of the model from the data directory's event log (what serve does at start) unless --no-rebuild."`
	Queries       int      `help:"With --live: queries sent, one at a time." default:"2000"`
	Rebuild       bool     `help:"With --live: also time a rebuild from the event log (reads the store: run it on the server's data directory)." default:"true" negatable:""`
	RebuildEvents int64    `name:"rebuild-events" help:"Instead of the offline evaluation: append this many generated events (parcours gen, 1 customer per 20 events over --days 60 unless --customers is given) to an embedded store in --store-dir, straight through the store, then time a full rebuild of the model from it (CPU seconds per million events). A --store-dir that already holds a log is rebuilt from as it is." placeholder:"N"`
	StoreDir      string   `name:"store-dir" help:"With --rebuild-events: the data directory of the embedded store (kept, to re-measure)." type:"path" placeholder:"DIR"`
	Compare       bool     `help:"With --rebuild-events: also rebuild the old way (every event read and fully decoded) for comparison."`
	Customers     int      `help:"Customers of the generated period (parcours gen)." default:"20000"`
	Days          int      `help:"Days of the generated period." default:"90"`
	Seed          int64    `help:"Seed of the generated period." default:"1"`
	K             int      `help:"Cut-off of hit rate and NDCG." default:"10"`
	Strategies    []string `help:"Recommendations to evaluate (default: every built-in one); the popularity baseline always is." placeholder:"NAME"`
}

func (c *benchRecommendCmd) Help() string {
	return `Generates a period of events (parcours gen), holds out each customer's last order (customers
with at least two orders, known by their userId), learns the recommendation model from the rest and
scores each recommendation's top K for each customer against the products of the order held out:
hit rate@K (any of them proposed) and NDCG@K, beside the popularity baseline (the most bought
everywhere, minus what the customer bought) measured in the same run. It also reports how long the
model took to learn the events, its memory, and the latency of one customer's query (model and
history in memory: the store's timeline read is measured through serve, docs/recommend.md).

  parcours bench recommend --customers 20000 --days 90
  parcours bench recommend --live --queries 5000      (against serve on the data directory)
  parcours bench recommend --rebuild-events 2000000 --store-dir /tmp/reco-2m --compare
                                                      (full rebuild from an embedded store's log)
  parcours bench recommend --customers 5000 --days 30 --strategies for_you,popular --json`
}

func (c *benchRecommendCmd) Run(g *config.Globals, e *env) error {
	if c.Live {
		return c.live(g, e)
	}
	if c.RebuildEvents > 0 || c.StoreDir != "" {
		return c.rebuild(g, e)
	}
	if c.Customers < 10 || c.Days < 2 {
		return fmt.Errorf("--customers must be at least 10 and --days at least 2: a holdout needs customers with two orders")
	}
	if !g.JSON {
		fmt.Fprintf(e.stderr, "generating %d customers over %d days, learning, evaluating ...\n", c.Customers, c.Days)
	}
	res, err := bench.Recommend(e.ctx, bench.RecommendOptions{Customers: c.Customers, Days: c.Days, Seed: c.Seed, K: c.K, Strategies: c.Strategies})
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, res)
	}
	w := e.stdout
	fmt.Fprintf(w, "%d events (%d learned), %d products, %d customers evaluated (last order held out)\n",
		res.Events, res.TrainingEvents, res.Items, res.Customers)
	fmt.Fprintf(w, "learned in %.2f s of CPU (%.0f ns/event), model %.1f MB (heap %.1f MB)\n\n",
		res.LearnSeconds, res.LearnNsPerEvt, float64(res.ModelBytes)/1e6, float64(res.HeapBytes)/1e6)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "RECOMMENDATION\tHIT RATE@%d\tNDCG@%d\tvs BASELINE\tEMPTY\tCPU ms/query\tP50 ms\tP99 ms\n", res.K, res.K)
	base := res.Strategies[0].HitRate
	for _, s := range res.Strategies {
		ratio := "-"
		if base > 0 {
			ratio = fmt.Sprintf("×%.2f", s.HitRate/base)
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%s\t%.1f%%\t%.3f\t%.3f\t%.3f\n", s.Name, s.HitRate, s.NDCG, ratio, s.Empty*100, s.CPUms, s.P50, s.P99)
	}
	return tw.Flush()
}

// liveResult is what --live measured.
type liveResult struct {
	Queries      int             `json:"queries"`
	Profiles     int64           `json:"profiles"`
	Errors       int             `json:"errors"`
	P50          float64         `json:"p50_ms"`
	P90          float64         `json:"p90_ms"`
	P99          float64         `json:"p99_ms"`
	Model        recommend.Stats `json:"model"`
	RebuildSecs  float64         `json:"rebuild_seconds,omitempty"`
	RebuildCPU   float64         `json:"rebuild_cpu_seconds,omitempty"`
	RebuildEvts  int64           `json:"rebuild_events,omitempty"`
	RebuildItems int             `json:"rebuild_items,omitempty"`
}

// live queries the running server for random profiles and times one
// rebuild of the model from the store's log.
func (c *benchRecommendCmd) live(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var info struct {
		Model recommend.Stats `json:"model"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/recommendations", nil, &info); err != nil {
		return err
	}
	// The store is read beside serve (SQLite's readers do not block its
	// writer): how many profiles, and the log to rebuild from.
	st, err := openExisting(e.ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	// Live profiles' ids (merges leave gaps), then random ones of them.
	var ids []int64
	for after := int64(0); ; {
		page, err := st.ListProfiles(e.ctx, after, 10_000)
		if err != nil {
			return err
		}
		for _, p := range page {
			ids = append(ids, p.ID)
		}
		if len(page) < 10_000 {
			break
		}
		after = page[len(page)-1].ID
	}
	if len(ids) == 0 {
		return fmt.Errorf("no profiles in %s: send events first (parcours gen --to URL)", g.DataDir)
	}
	res := liveResult{Queries: c.Queries, Model: info.Model, Profiles: int64(len(ids))}
	rnd := rand.New(rand.NewPCG(uint64(c.Seed), 7))
	lat := make([]float64, 0, c.Queries)
	for range c.Queries {
		id := ids[rnd.IntN(len(ids))]
		t0 := time.Now()
		err := api.call(e.ctx, "GET", fmt.Sprintf("/api/v1/profiles/%d/recommendations?strategy=for_you", id), nil, nil)
		lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
		if err != nil {
			res.Errors++
		}
	}
	sort.Float64s(lat)
	if n := len(lat); n > 0 {
		res.P50, res.P90, res.P99 = lat[n/2], lat[n*90/100], lat[min(n-1, n*99/100)]
	}
	if c.Rebuild {
		cpu0, t0 := cpuNow(), time.Now()
		m, err := recommend.Rebuild(e.ctx, st, recommend.Options{}, nil)
		if err != nil {
			return err
		}
		res.RebuildSecs, res.RebuildCPU = time.Since(t0).Seconds(), (cpuNow() - cpu0).Seconds()
		s := m.Stats()
		res.RebuildEvts, res.RebuildItems = s.LastSeq, s.Items
	}
	if g.JSON {
		return printJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "%d for_you queries over %d profiles (%d errors): p50 %.2f ms, p90 %.2f ms, p99 %.2f ms (HTTP round trip included)\n",
		res.Queries, res.Profiles, res.Errors, res.P50, res.P90, res.P99)
	fmt.Fprintf(e.stdout, "serve's model: %d products, %d neighbours, %d events, ~%.1f MB\n", res.Model.Items, res.Model.Neighbours, res.Model.Events, float64(res.Model.Bytes)/1e6)
	if c.Rebuild {
		fmt.Fprintf(e.stdout, "rebuild from the log: %d events in %.1f s (%.1f s of CPU), %d products\n", res.RebuildEvts, res.RebuildSecs, res.RebuildCPU, res.RebuildItems)
	}
	return nil
}

// cpuNow is the process's CPU time (user + system).
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rebuild times a full rebuild of the model from an embedded store's log.
func (c *benchRecommendCmd) rebuild(g *config.Globals, e *env) error {
	if c.StoreDir == "" {
		return fmt.Errorf("--rebuild-events needs --store-dir DIR (the embedded store to fill and rebuild from)")
	}
	customers, days := 0, 0
	if c.Customers != 20000 {
		customers = c.Customers
	}
	if c.Days != 90 {
		days = c.Days
	}
	logf := func(format string, a ...any) {
		if !g.JSON {
			fmt.Fprintf(e.stderr, format+"\n", a...)
		}
	}
	res, err := bench.RecommendRebuild(e.ctx, bench.RebuildOptions{Dir: c.StoreDir, Events: c.RebuildEvents, Customers: customers,
		Days: days, Seed: c.Seed, Compare: c.Compare}, logf)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, res)
	}
	w := e.stdout
	if res.GenerateSecs > 0 {
		fmt.Fprintf(w, "generated and appended %d events in %.0f s\n", res.LogEvents, res.GenerateSecs)
	}
	fmt.Fprintf(w, "rebuild: %d events in the log, %d read and learned, %d products, model ~%.1f MB\n",
		res.LogEvents, res.Learned, res.Items, float64(res.ModelBytes)/1e6)
	fmt.Fprintf(w, "rebuild: %.1f s wall, %.1f s CPU on %d cores = %.2f CPU s per million events of the log\n",
		res.Seconds, res.CPUSeconds, res.Cores, res.CPUPerMillion)
	if c.Compare {
		fmt.Fprintf(w, "old rebuild (every event decoded): %.1f s wall, %.1f s CPU = %.2f CPU s per million events\n",
			res.SlowSeconds, res.SlowCPUSeconds, res.SlowCPUPerM)
	}
	return nil
}
