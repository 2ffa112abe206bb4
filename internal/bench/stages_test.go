package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestStageLagsFromMetrics follows a server whose segment stage falls 7 s
// behind and then catches up: the run did not keep up, and the drain time
// is read once every stage is at 0.
func TestStageLagsFromMetrics(t *testing.T) {
	var scrape atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := scrape.Add(1)
		seg := max(0, 7-float64(n)) // 6, 5, ... 0
		fmt.Fprintf(w, "# HELP parcours_stage_lag_seconds x\n# TYPE parcours_stage_lag_seconds gauge\n")
		fmt.Fprintf(w, "parcours_stage_lag_seconds{stage=\"unify\"} 0.5\nparcours_stage_lag_seconds{stage=\"segment\"} %g\n", seg+1)
		fmt.Fprintf(w, "parcours_stage_behind_events{stage=\"unify\"} 0\nparcours_stage_behind_events{stage=\"segment\"} %g\n", seg*1000)
		fmt.Fprintf(w, "parcours_other{stage=\"segment\"} 99\n")
	}))
	defer srv.Close()
	ctx := context.Background()
	var samples []lagSample
	for range 3 {
		s, err := scrapeLag(ctx, srv.Client(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, s)
	}
	drain := drainLag(ctx, srv.URL, time.Minute)
	lags := stageLags(samples, drain)
	if len(lags) != 2 || lags[0].Stage != "unify" || lags[1].Stage != "segment" {
		t.Fatalf("stages = %+v; want unify then segment", lags)
	}
	if s := lags[1]; s.Max != 7 || s.MaxBehind != 6000 || s.P50 != 6 || s.Drain < 0 {
		t.Fatalf("segment = %+v; want max 7 s, 6000 behind, p50 6 s, drained", s)
	}
	if KeptUp(lags, 5) {
		t.Fatal("a stage 7 s behind kept up")
	}
	if !KeptUp(lags[:1], 5) {
		t.Fatal("unify, 0.5 s behind, did not keep up")
	}
}
