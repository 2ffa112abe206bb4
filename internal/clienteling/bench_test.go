package clienteling_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/clienteling"
	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/httpapi"
	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/postgres"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/prometheus/client_golang/prometheus"
)

// The view's benchmark store: PARCOURS_BENCH_PROFILES customers (default
// 1,000,000), the first benchHot of them with a full card. Built once per
// process; with PARCOURS_BENCH_DIR it is kept there and reused by later
// runs (the build takes minutes, the measure seconds).
const benchHot = 1000

var (
	benchOnce sync.Once
	benchFix  *fixture
	benchErr  error
)

func benchProfiles() int {
	if v, err := strconv.Atoi(os.Getenv("PARCOURS_BENCH_PROFILES")); err == nil && v > benchHot {
		return v
	}
	return 1_000_000
}

// benchFixture opens (building it if needed) the benchmark's store:
// SQLite, or PostgreSQL at PARCOURS_BENCH_POSTGRES_URL (an empty
// database; a database holding the customers already is reused).
func benchFixture(b *testing.B) *fixture {
	benchOnce.Do(func() {
		n := benchProfiles()
		if url := os.Getenv("PARCOURS_BENCH_POSTGRES_URL"); url != "" {
			benchFix, benchErr = benchPostgres(b, url, n)
			return
		}
		dir := os.Getenv("PARCOURS_BENCH_DIR")
		if dir == "" {
			var err error
			if dir, err = os.MkdirTemp("", "parcours-clienteling-bench-"); err != nil {
				benchErr = err
				return
			}
		}
		dir = filepath.Join(dir, fmt.Sprintf("clienteling-%d", n))
		ctx := context.Background()
		built := filepath.Join(dir, "built")
		_, statErr := os.Stat(built)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			benchErr = err
			return
		}
		st, err := sqlite.Open(ctx, dir)
		if err == nil {
			err = st.Migrate(ctx)
		}
		if err != nil {
			benchErr = err
			return
		}
		if statErr == nil {
			benchFix = &fixture{st: st, clk: clock.NewFake(t0), n: n, hot: benchHot}
			benchFix.com = commerce.New(st, commerce.Options{Clock: benchFix.clk})
			return
		}
		start := time.Now()
		benchFix = buildFixture(b, st, n, benchHot)
		fmt.Fprintf(os.Stderr, "clienteling bench: built %d profiles in %s in %s\n", n, dir, time.Since(start).Round(time.Second))
		benchErr = os.WriteFile(built, nil, 0o644)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFix
}

func benchPostgres(b *testing.B, url string, n int) (*fixture, error) {
	ctx := context.Background()
	st, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		return nil, err
	}
	have, err := st.ProfileCount(ctx)
	if err != nil {
		return nil, err
	}
	if have >= int64(n) {
		f := &fixture{st: st, clk: clock.NewFake(t0), n: n, hot: benchHot}
		f.com = commerce.New(st, commerce.Options{Clock: f.clk})
		return f, nil
	}
	start := time.Now()
	f := buildFixture(b, st, n, benchHot)
	fmt.Fprintf(os.Stderr, "clienteling bench: built %d profiles on PostgreSQL in %s\n", n, time.Since(start).Round(time.Second))
	return f, nil
}

// BenchmarkView measures the associate's lookup and card on the
// benchmark store: Find by phone then View with the customer's store, for
// random hot customers (a cart, two orders and a return, nine product
// views, a task, consent, a segment). It reports the latency's
// distribution over b.N views. Run it with
//
//	go test ./internal/clienteling -run '^$' -bench 'View' -benchtime 2000x
func BenchmarkView(b *testing.B) {
	f := benchFixture(b)
	s := &clienteling.Service{Profiles: f.st, Commerce: f.com.Store(), Clock: f.clk}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	warm(b, s)
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		i := rng.IntN(benchHot)
		start := time.Now()
		found, err := s.Find(ctx, clienteling.Query{Phone: phoneOf(i)})
		if err != nil {
			b.Fatal(err)
		}
		v, err := s.View(ctx, found.Profile, found.By, clienteling.Viewer{Store: stores[i%len(stores)]})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		if len(v.Orders) != 2 || v.Cart == nil || len(v.Cart.Items) != 2 {
			b.Fatalf("customer %d's card lacks its orders or cart: %d orders, cart %+v", i, len(v.Orders), v.Cart)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	reportLatency(b, lat)
}

// BenchmarkBaselineLookup is the floor the view is compared with, in the
// same run on the same store: what GET /api/v1/profiles?phone= reads (the
// phone's holder, then the profile), for the same customers.
func BenchmarkBaselineLookup(b *testing.B) {
	f := benchFixture(b)
	s := &clienteling.Service{Profiles: f.st, Clock: f.clk}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	warm(b, s)
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		i := rng.IntN(benchHot)
		start := time.Now()
		if _, err := s.Find(ctx, clienteling.Query{Phone: phoneOf(i)}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	reportLatency(b, lat)
}

// BenchmarkViewHTTP is BenchmarkView through the API's handler in
// process: a store_staff key's authentication, the scope checks, and the
// JSON of the card (no network).
func BenchmarkViewHTTP(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	s := &clienteling.Service{Profiles: f.st, Commerce: f.com.Store(), Clock: f.clk}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	api := httpapi.New(f.st, nil, f.clk, log, &httpapi.Profiles{}, nil).WithAccess(httpapi.AccessOptions{KeyRate: -1}).WithClienteling(s)
	reg := prometheus.NewRegistry()
	metrics := collect.NewMetrics(reg)
	tracking := collect.NewHandler(collect.NewKeys(f.st, f.clk, time.Second), collect.NewIngester(collect.Discard{}, metrics, log), f.clk, metrics, collect.HandlerOptions{})
	mux := api.Mux(httpapi.Routes(api, httpapi.Edge{Tracking: tracking, Hook: func(providers.Hook) http.HandlerFunc { return nil }}))
	// Each store's staff key, made once per run (keys are rows like any).
	keys := map[string]string{}
	for _, st := range stores {
		k, secret, err := auth.NewAPIKey("bench staff "+st+" "+strconv.FormatInt(time.Now().UnixNano(), 36), auth.RoleStoreStaff, []string{st},
			time.Now().Add(time.Hour), "bench", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		if err := f.st.CreateAPIKey(ctx, k); err != nil {
			b.Fatal(err)
		}
		keys[st] = secret
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	warm(b, s)
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		i := rng.IntN(benchHot)
		st := stores[i%len(stores)]
		req := httptest.NewRequest("GET", "/api/v1/clienteling/customers?phone="+url.QueryEscape(phoneOf(i))+"&store="+st, nil)
		req.Header.Set("Authorization", "Bearer "+keys[st])
		w := httptest.NewRecorder()
		start := time.Now()
		mux.ServeHTTP(w, req)
		lat = append(lat, time.Since(start))
		if w.Code != http.StatusOK {
			b.Fatalf("customer %d: %d %s", i, w.Code, w.Body)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	reportLatency(b, lat)
}

// warm reads 100 cards of other random hot customers first: a serving
// process has its connections open and the indexes' upper pages cached.
func warm(b *testing.B, s *clienteling.Service) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		i := rng.IntN(benchHot)
		found, err := s.Find(ctx, clienteling.Query{Phone: phoneOf(i)})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.View(ctx, found.Profile, found.By, clienteling.Viewer{Store: stores[i%len(stores)]}); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

var _ store.Store = (*sqlite.Store)(nil)
