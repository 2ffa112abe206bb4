package measure_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/gen"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// The measure benchmarks read parcours gen's events: PARCOURS_BENCH_CUSTOMERS
// customers (default 20,000) over PARCOURS_BENCH_DAYS days (default 30),
// capped at PARCOURS_BENCH_EVENTS events (0: all). The scale is
// 1,000,000 customers over 52 days: about 20 million events and 1.3
// million profiles. The rollups and the behaviour index are built once per
// process, through the stage's Process (each event's profile found from
// its user id, else anonymous id, as unify would without merges); with
// PARCOURS_BENCH_DIR set they are kept there and reused by the next run.

type benchData struct {
	st       *sqlite.Store
	eng      *measure.Rollups
	events   int64
	profiles int
	first    time.Time
	last     time.Time
	built    time.Duration // 0: reused
	zone     *time.Location
}

var (
	benchOnce sync.Once
	bench     *benchData
	benchErr  error
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v >= 0 {
		return v
	}
	return def
}

func benchSetup(b *testing.B) *benchData {
	benchOnce.Do(func() { bench, benchErr = buildBench() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

// meta is what a kept bench directory remembers.
type benchMeta struct {
	Events, Profiles int64
	First, Last      time.Time
}

func buildBench() (*benchData, error) {
	ctx := context.Background()
	dir := os.Getenv("PARCOURS_BENCH_DIR")
	keep := dir != ""
	if !keep {
		var err error
		if dir, err = os.MkdirTemp("", "parcours-measure-bench-"); err != nil {
			return nil, err
		}
	}
	zone, _ := time.LoadLocation("Europe/Paris")
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	index, err := segment.OpenIndex(filepath.Join(dir, "behaviour.idx"))
	if err != nil {
		return nil, err
	}
	d := &benchData{st: st, zone: zone}
	metaPath := filepath.Join(dir, "bench.json")
	if raw, err := os.ReadFile(metaPath); keep && err == nil {
		var m benchMeta
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		d.events, d.profiles, d.first, d.last = m.Events, int(m.Profiles), m.First, m.Last
	} else {
		if err := d.build(ctx, index); err != nil {
			return nil, err
		}
		raw, _ := json.Marshal(benchMeta{Events: d.events, Profiles: int64(d.profiles), First: d.first, Last: d.last})
		if err := os.WriteFile(metaPath, raw, 0o644); err != nil {
			return nil, err
		}
		if err := index.Flush(); err != nil {
			return nil, err
		}
	}
	index.MarkReady()
	d.eng = measure.NewRollups(st, zone, clock.NewFake(d.last))
	d.eng.Index = index
	return d, nil
}

// build generates the events and counts them into the rollups and the
// index.
func (d *benchData) build(ctx context.Context, index *segment.Index) error {
	g := gen.New(gen.Options{Seed: 1, Customers: envInt("PARCOURS_BENCH_CUSTOMERS", 20_000), Days: envInt("PARCOURS_BENCH_DAYS", 30),
		Start: time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)})
	limit := int64(envInt("PARCOURS_BENCH_EVENTS", 0))
	ids := map[string]int64{}
	profile := func(key string) int64 {
		if p, ok := ids[key]; ok {
			return p
		}
		p := int64(len(ids) + 1)
		ids[key] = p
		return p
	}
	owners := func(_ context.Context, batch []*event.Event) ([]int64, map[int][2]int64, error) {
		out := make([]int64, len(batch))
		for i, e := range batch {
			switch {
			case e.UserID != "":
				out[i] = profile("u:" + e.UserID)
				if e.AnonymousID != "" {
					if _, ok := ids["a:"+e.AnonymousID]; !ok {
						ids["a:"+e.AnonymousID] = out[i] // the device is the customer's from now on
					}
				}
			case e.AnonymousID != "":
				out[i] = profile("a:" + e.AnonymousID)
			}
		}
		return out, nil, nil
	}
	stage := measure.NewStage(d.st, measure.Options{Zone: d.zone, Owners: owners, Clock: clock.NewFake(time.Now())})
	if err := stage.Load(ctx); err != nil {
		return err
	}
	start := time.Now()
	batch := make([]*event.Event, 0, 1000)
	var counted time.Duration
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		o, m, _ := owners(ctx, batch)
		index.Add(batch, o, m)
		t := time.Now()
		if err := stage.Process(ctx, batch); err != nil {
			return err
		}
		counted += time.Since(t)
		batch = batch[:0]
		return nil
	}
	for {
		ge, ok := g.Next()
		if !ok || limit > 0 && d.events >= limit {
			break
		}
		e := &event.Event{}
		if err := json.Unmarshal(ge.JSON, e); err != nil {
			return err
		}
		d.events++
		e.Seq, e.Channel, e.StoreID, e.SourceID, e.ReceivedAt = d.events, ge.Channel, ge.StoreID, "src_"+ge.Channel+ge.StoreID, e.Timestamp
		if d.first.IsZero() {
			d.first = e.Timestamp
		}
		d.last = e.Timestamp
		batch = append(batch, e)
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	t := time.Now()
	if err := stage.Flush(ctx); err != nil {
		return err
	}
	counted += time.Since(t)
	d.profiles, d.built = len(ids), time.Since(start)
	rate := float64(d.events) / counted.Seconds()
	println("measure bench: built", d.events, "events,", d.profiles, "profile keys in", d.built.Round(time.Second).String(),
		"; the stage counted", int(rate), "events/s")
	benchStageRate = rate
	return nil
}

// benchStageRate is the stage's rate while building (0: reused).
var benchStageRate float64

// cpuTime is the process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// latencies runs fn b.N times and reports the median and the 99th
// percentile in milliseconds, and the CPU time per run: on this shared
// machine the wall times depend on the neighbours' load, the CPU time
// much less.
func latencies(b *testing.B, fn func() error) {
	var took []time.Duration
	cpu := cpuTime()
	defer func() { b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(len(took)), "cpu-ms/op") }()
	for b.Loop() {
		t := time.Now()
		if err := fn(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t))
	}
	slices.Sort(took)
	pct := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkMeasureStage reports how fast the stage counted gen's events
// into the rollups on the embedded store (the build).
func BenchmarkMeasureStage(b *testing.B) {
	d := benchSetup(b)
	for b.Loop() {
	}
	b.ReportMetric(float64(d.events), "events")
	b.ReportMetric(float64(d.profiles), "profiles")
	if benchStageRate > 0 {
		b.ReportMetric(benchStageRate, "events/s")
	}
}

// BenchmarkMeasureKPIDashboard times the dashboard: the ten default KPIs
// over the last 90 days (against the 90 before) with a breakdown by
// channel, from the rollups. "warm": the same query again (a refreshed
// dashboard: unions of unchanged days are kept); "unions": every union
// computed again (as if every day had changed); "cold": a new engine per
// query (every set read from the store and decoded).
func BenchmarkMeasureKPIDashboard(b *testing.B) {
	d := benchSetup(b)
	ctx := context.Background()
	last := d.last.In(d.zone)
	q := measure.KPIQuery{From: last.AddDate(0, 0, -89).Format(time.DateOnly), To: last.Format(time.DateOnly), Breakdown: "channel"}
	r, err := d.eng.KPIs(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	if len(r.KPIs) != 10 || r.KPIs[0].Value == nil || *r.KPIs[0].Value == 0 {
		b.Fatalf("dashboard: %+v", r.KPIs[0])
	}
	b.Run("warm", func(b *testing.B) {
		latencies(b, func() error { _, err := d.eng.KPIs(ctx, q); return err })
	})
	b.Run("unions", func(b *testing.B) {
		latencies(b, func() error {
			measure.ForgetUnions(d.eng)
			_, err := d.eng.KPIs(ctx, q)
			return err
		})
	})
	b.Run("cold", func(b *testing.B) {
		latencies(b, func() error {
			e := measure.NewRollups(d.st, d.zone, clock.NewFake(d.last))
			_, err := e.KPIs(ctx, q)
			return err
		})
	})
}

// BenchmarkMeasureFunnel times a 4-step funnel (product view, add to cart,
// checkout, order) with a 7-day window over the whole period, from the
// behaviour index.
func BenchmarkMeasureFunnel(b *testing.B) {
	d := benchSetup(b)
	ctx := context.Background()
	q := measure.FunnelQuery{From: d.first.In(d.zone).Format(time.DateOnly), To: d.last.In(d.zone).Format(time.DateOnly),
		Steps:  []measure.FunnelStep{{Event: "Product Viewed"}, {Event: "Product Added"}, {Event: "Checkout Started"}, {Event: "Order Completed"}},
		Window: segment.Duration(7 * 24 * time.Hour)}
	runtime.GC()
	var r *measure.FunnelReport
	latencies(b, func() error {
		var err error
		r, err = d.eng.Funnel(ctx, q)
		return err
	})
	if r.Steps[3].Customers == 0 {
		b.Fatalf("funnel: %+v", r.Steps)
	}
	b.ReportMetric(float64(r.Steps[0].Customers), "entered")
}
