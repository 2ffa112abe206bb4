package bench

import (
	"bufio"
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// StageLag is how far one stage of the pipeline stayed behind ingestion
// during a run, read from the server's /metrics (parcours_stage_lag_seconds
// and parcours_stage_behind_events) once a second.
type StageLag struct {
	Stage string `json:"stage"`
	// P50 and Max are the lag in seconds over the measured run: how long
	// ago the oldest event the stage had not handled was received.
	P50 float64 `json:"p50_lag_s"`
	Max float64 `json:"max_lag_s"`
	// MaxBehind is the most events it had not handled.
	MaxBehind int64 `json:"max_behind_events"`
	// Drain is how long after the load stopped it took to handle
	// everything (-1: not within the drain limit).
	Drain float64 `json:"drain_s"`
	// Series is the lag at each second of the run.
	Series []float64 `json:"series_s,omitempty"`
}

// KeptUp says whether every stage stayed under limit seconds behind over
// the whole run.
func KeptUp(stages []StageLag, limit float64) bool {
	for _, s := range stages {
		if s.Max >= limit || s.Drain < 0 {
			return false
		}
	}
	return len(stages) > 0
}

// lagSample is one scrape: per stage, lag seconds and events behind.
type lagSample map[string][2]float64

// scrapeLag reads the stage metrics from url's /metrics.
func scrapeLag(ctx context.Context, client *http.Client, url string) (lagSample, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := lagSample{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var i int
		switch {
		case strings.HasPrefix(line, "parcours_stage_lag_seconds{"):
			i = 0
		case strings.HasPrefix(line, "parcours_stage_behind_events{"):
			i = 1
		default:
			continue
		}
		a, b := strings.Index(line, `stage="`), strings.LastIndexByte(line, ' ')
		if a < 0 || b < 0 {
			continue
		}
		name := line[a+len(`stage="`):]
		name = name[:strings.IndexByte(name, '"')]
		v, err := strconv.ParseFloat(line[b+1:], 64)
		if err != nil {
			continue
		}
		s := out[name]
		s[i] = v
		out[name] = s
	}
	return out, sc.Err()
}

// lagWatch samples the stages' lag once a second until stopped.
type lagWatch struct {
	samples []lagSample
	stop    chan struct{}
	done    chan struct{}
}

func watchLag(ctx context.Context, url string) *lagWatch {
	w := &lagWatch{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	go func() {
		defer close(w.done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if s, err := scrapeLag(ctx, client, url); err == nil && len(s) > 0 {
				w.samples = append(w.samples, s)
			}
			select {
			case <-t.C:
			case <-w.stop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return w
}

func (w *lagWatch) end() []lagSample {
	close(w.stop)
	<-w.done
	return w.samples
}

// drainLag waits, up to limit, for every stage to have handled everything,
// and returns how long each took (-1: not within limit).
func drainLag(ctx context.Context, url string, limit time.Duration) map[string]float64 {
	client := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	out := map[string]float64{}
	for {
		s, err := scrapeLag(ctx, client, url)
		if err == nil {
			all := true
			for name, v := range s {
				if _, done := out[name]; done {
					continue
				}
				if v[1] == 0 {
					out[name] = time.Since(start).Seconds()
				} else {
					all = false
				}
			}
			if all && len(s) > 0 {
				return out
			}
			if time.Since(start) > limit {
				for name := range s {
					if _, done := out[name]; !done {
						out[name] = -1
					}
				}
				return out
			}
		}
		sleep(ctx, 250*time.Millisecond)
		if ctx.Err() != nil {
			return out
		}
	}
}

// stageLags folds the samples of a run and the drain times into one
// StageLag per stage, in the order the server lists them.
func stageLags(samples []lagSample, drain map[string]float64) []StageLag {
	var names []string
	seen := map[string]bool{}
	for _, s := range samples {
		for name := range s {
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	order := map[string]int{"unify": 0, "segment": 1, "message": 2, "journey": 3, "commerce": 4, "measure": 5}
	sort.SliceStable(names, func(i, j int) bool {
		oi, ok1 := order[names[i]]
		oj, ok2 := order[names[j]]
		if ok1 && ok2 {
			return oi < oj
		}
		return ok1 || (!ok2 && names[i] < names[j])
	})
	var out []StageLag
	for _, name := range names {
		l := StageLag{Stage: name, Drain: -1}
		var lags []float64
		for _, s := range samples {
			v := s[name]
			lags = append(lags, v[0])
			l.Max = max(l.Max, v[0])
			l.MaxBehind = max(l.MaxBehind, int64(v[1]))
		}
		l.Series = lags
		sorted := append([]float64(nil), lags...)
		sort.Float64s(sorted)
		if len(sorted) > 0 {
			l.P50 = sorted[len(sorted)/2]
		}
		if d, ok := drain[name]; ok {
			l.Drain = d
		}
		out = append(out, l)
	}
	return out
}
