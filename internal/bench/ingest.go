// Package bench holds the load generators behind `parcours bench`: they drive
// a running server over real HTTP and report throughput and latency
// percentiles.
package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// IngestOptions describe an ingestion load.
type IngestOptions struct {
	URL      string // the server's base URL, e.g. http://127.0.0.1:8080
	WriteKey string
	// Endpoint is "batch" (BatchSize events per request) or "track" (one).
	Endpoint    string
	BatchSize   int
	EventSize   int // approximate bytes of JSON per event
	Concurrency int // requests in flight (closed loop)
	// Rate, if set, sends this many requests per second (open loop) and
	// measures latency from when each request was due, so a stalled server
	// is not hidden by a stalled generator.
	Rate     int
	Duration time.Duration
	Warmup   time.Duration
	// RunID makes message ids unique across runs against the same store.
	RunID string
	// Stages, if set, follows how far each stage of the server's pipeline
	// stays behind during the run (from its /metrics), then waits up to
	// Drain (default 2 minutes) for them to catch up.
	Stages bool
	Drain  time.Duration
}

// IngestResult is what a load run measured.
type IngestResult struct {
	Endpoint     string         `json:"endpoint"`
	Requests     int64          `json:"requests"`
	Events       int64          `json:"events"`
	Seconds      float64        `json:"seconds"`
	EventsPerSec float64        `json:"events_per_sec"`
	ReqPerSec    float64        `json:"requests_per_sec"`
	P50          Millis         `json:"p50_ms"`
	P90          Millis         `json:"p90_ms"`
	P99          Millis         `json:"p99_ms"`
	Max          Millis         `json:"max_ms"`
	Errors       map[string]int `json:"errors,omitempty"`
	// RefusedMax is the slowest 503 answer: how long the server held a
	// request before refusing it.
	RefusedMax Millis `json:"refused_max_ms,omitempty"`
	// ServerPeakRSS is the peak resident memory of the server, in MiB, when
	// the caller started it and could read it.
	ServerPeakRSS int64 `json:"server_peak_rss_mib,omitempty"`
	// ServerCores is the CPU the server used (user + system), in cores,
	// over the warm-up and the run, when the caller started it (its
	// database included only for the embedded store).
	ServerCores float64 `json:"server_cores,omitempty"`
	// Stages is each stage's lag over the run (with IngestOptions.Stages).
	Stages []StageLag `json:"stages,omitempty"`
}

// Millis is a duration printed in milliseconds.
type Millis float64

func ms(d time.Duration) Millis { return Millis(float64(d.Microseconds()) / 1000) }

// Ingest runs the load described by o and measures it.
func Ingest(ctx context.Context, o IngestOptions) (IngestResult, error) {
	if o.Endpoint == "" {
		o.Endpoint = "batch"
	}
	if o.Endpoint == "track" {
		o.BatchSize = 1
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.RunID == "" {
		o.RunID = strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	tpl := NewTemplate(o.Endpoint, o.BatchSize, o.EventSize, o.RunID)
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        o.Concurrency * 2,
			MaxIdleConnsPerHost: o.Concurrency * 2,
			IdleConnTimeout:     time.Minute,
		},
	}
	defer client.CloseIdleConnections()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(o.WriteKey+":"))
	url := o.URL + "/v1/" + o.Endpoint

	var (
		counter  atomic.Int64
		measure  atomic.Bool
		mu       sync.Mutex
		lat      []time.Duration
		refused  time.Duration
		errs     = map[string]int{}
		requests atomic.Int64
	)
	// send posts one request and returns how long to wait before the next
	// one: the Retry-After of a 503, as the client libraries honour it.
	send := func(due time.Time) (backoff time.Duration) {
		body := tpl.Render(counter.Add(1))
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		d := time.Since(due)
		status := ""
		if err != nil {
			status = "transport"
			if ctx.Err() != nil {
				return 0
			}
		} else {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				status = strconv.Itoa(resp.StatusCode)
			}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && resp.StatusCode == http.StatusServiceUnavailable {
				backoff = time.Duration(min(max(s, 0), 10)) * time.Second
			}
		}
		if !measure.Load() {
			return backoff
		}
		mu.Lock()
		if status == "503" {
			refused = max(refused, d)
		}
		if status != "" {
			errs[status]++
		} else {
			lat = append(lat, d)
			requests.Add(1)
		}
		mu.Unlock()
		return backoff
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if o.Rate > 0 {
		due := make(chan time.Time, o.Concurrency*4)
		for range o.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for t := range due {
					send(t)
				}
			}()
		}
		go func() {
			defer close(due)
			interval := time.Second / time.Duration(o.Rate)
			next := time.Now()
			for runCtx.Err() == nil {
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				select {
				case due <- next:
				case <-runCtx.Done():
					return
				}
			}
		}()
	} else {
		for range o.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for runCtx.Err() == nil {
					sleep(runCtx, send(time.Now()))
				}
			}()
		}
	}

	sleep(runCtx, o.Warmup)
	measure.Store(true)
	start := time.Now()
	var watch *lagWatch
	if o.Stages {
		watch = watchLag(runCtx, o.URL)
	}
	sleep(runCtx, o.Duration)
	measure.Store(false)
	elapsed := time.Since(start)
	var samples []lagSample
	if watch != nil {
		samples = watch.end()
	}
	cancel()
	wg.Wait()
	if ctx.Err() != nil {
		return IngestResult{}, ctx.Err()
	}
	var stages []StageLag
	if o.Stages {
		stages = stageLags(samples, drainLag(ctx, o.URL, cmp.Or(o.Drain, 2*time.Minute)))
	}

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	n := requests.Load()
	res := IngestResult{
		Endpoint:     o.Endpoint,
		Requests:     n,
		Events:       n * int64(o.BatchSize),
		Seconds:      elapsed.Seconds(),
		EventsPerSec: float64(n*int64(o.BatchSize)) / elapsed.Seconds(),
		ReqPerSec:    float64(n) / elapsed.Seconds(),
		P50:          ms(percentile(lat, 0.50)),
		P90:          ms(percentile(lat, 0.90)),
		P99:          ms(percentile(lat, 0.99)),
		Max:          ms(percentile(lat, 1)),
		RefusedMax:   ms(refused),
		Stages:       stages,
	}
	if len(errs) > 0 {
		res.Errors = errs
	}
	if n == 0 {
		return res, fmt.Errorf("bench: no request succeeded (errors: %v)", errs)
	}
	return res, nil
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
