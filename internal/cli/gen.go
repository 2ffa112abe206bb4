package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/gen"
	"github.com/parcours/parcours/internal/server"
)

type genCmd struct {
	Customers   int       `help:"People in the simulation; most come back many times." default:"1000"`
	Days        int       `help:"Length of the simulated period." default:"30"`
	Start       time.Time `help:"First day of the simulated period (YYYY-MM-DD). Default: --days ago, so the period ends now and time windows (within: 7d) find the events." format:"2006-01-02"`
	Stores      int       `help:"Physical stores." default:"12"`
	Seed        int64     `help:"The same seed gives the same events." default:"1"`
	Channels    []string  `help:"Keep only these channels (web, ios, android, pos, email, sms, call_center)."`
	Limit       int64     `help:"Stop after this many events (0: the whole period)."`
	Out         string    `help:"Write NDJSON here ('-': standard output)." short:"o" default:"-"`
	To          string    `help:"Send to this Parcours server instead (e.g. http://127.0.0.1:8080): one source per channel and per store is created through the management API."`
	AdminKey    string    `help:"Admin key for --to; default: the admin-key file of the data directory." env:"PARCOURS_ADMIN_KEY"`
	Batch       int       `help:"Events per request with --to." default:"100"`
	Concurrency int       `help:"Requests in flight with --to." default:"4"`
	Commerce    string    `help:"Instead of events, write the simulation's stores, catalog and stock to DIR as stores.csv, catalog.csv and stock.csv (for parcours locations, catalog and stock import)." placeholder:"DIR" type:"path"`
}

func (c *genCmd) Run(g *config.Globals, e *env) error {
	for _, ch := range c.Channels {
		if !slices.Contains(gen.Channels(), ch) {
			return fmt.Errorf("--channels: %q is not one of %s", ch, strings.Join(gen.Channels(), ", "))
		}
	}
	from := c.Start
	if from.IsZero() {
		from = recentStart(time.Now(), c.Days)
	}
	gn := gen.New(gen.Options{Seed: c.Seed, Customers: c.Customers, Stores: c.Stores, Start: from, Days: c.Days})
	if c.Commerce != "" {
		return writeCommerce(e, gn, c.Commerce)
	}
	bar := progressbar.NewOptions64(c.Limit,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription("generating"),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionShowIts(),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetVisibility((c.Out != "-" || c.To != "") && interactive(e.stderr)),
	)
	if c.Limit == 0 {
		bar.ChangeMax64(-1)
	}
	start := time.Now()
	var n int64
	var err error
	if c.To != "" {
		n, err = c.send(e, g, gn, bar)
	} else {
		n, err = c.write(gn, e, bar)
	}
	bar.Finish()
	if err != nil {
		return err
	}
	took := time.Since(start)
	if c.Out != "-" || c.To != "" {
		fmt.Fprintf(e.stderr, "%d events in %s (%.0f events/s)\n", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	}
	return nil
}

// next returns the next event kept by the channel filter and the limit.
func (c *genCmd) next(gn *gen.Generator, n int64) (gen.Event, bool) {
	if c.Limit > 0 && n >= c.Limit {
		return gen.Event{}, false
	}
	for {
		ev, ok := gn.Next()
		if !ok || len(c.Channels) == 0 || slices.Contains(c.Channels, ev.Channel) {
			return ev, ok
		}
	}
}

func (c *genCmd) write(gn *gen.Generator, e *env, bar *progressbar.ProgressBar) (int64, error) {
	var out io.Writer = e.stdout
	if c.Out != "-" {
		f, err := os.Create(c.Out)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		out = f
	}
	w := bufio.NewWriterSize(out, 1<<20)
	var n int64
	for e.ctx.Err() == nil {
		ev, ok := c.next(gn, n)
		if !ok {
			break
		}
		w.Write(ev.JSON)
		if err := w.WriteByte('\n'); err != nil {
			return n, err
		}
		n++
		if n%1024 == 0 {
			bar.Add(1024)
		}
	}
	return n, w.Flush()
}

// send posts the stream to a server, each event with the write key of its
// channel's source (a store's own source for pos events).
func (c *genCmd) send(e *env, g *config.Globals, gn *gen.Generator, bar *progressbar.ProgressBar) (int64, error) {
	base := strings.TrimSuffix(c.To, "/")
	key := c.AdminKey
	if key == "" {
		var err error
		if key, err = server.ReadAdminKey(g.DataDir); err != nil {
			return 0, fmt.Errorf("%w; or pass --admin-key", err)
		}
	}
	api := &apiClient{base: base, key: key, http: &http.Client{Timeout: time.Minute}}
	keys := map[string]string{} // source name -> write key
	type request struct {
		key  string
		body []byte
		n    int
	}
	reqs := make(chan request, c.Concurrency)
	errc := make(chan error, c.Concurrency)
	var wg sync.WaitGroup
	for range c.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range reqs {
				if err := postBatch(e.ctx, api.http, base, r.key, r.body); err != nil {
					errc <- err
					return
				}
				bar.Add(r.n)
			}
		}()
	}
	batches := map[string]*bytes.Buffer{}
	counts := map[string]int{}
	flush := func(name string) {
		b := batches[name]
		if counts[name] == 0 {
			return
		}
		b.WriteString("]}")
		reqs <- request{keys[name], bytes.Clone(b.Bytes()), counts[name]}
		b.Reset()
		counts[name] = 0
	}
	var n int64
	var err error
loop:
	for e.ctx.Err() == nil {
		select {
		case err = <-errc:
			break loop
		default:
		}
		ev, ok := c.next(gn, n)
		if !ok {
			break
		}
		name, channel, storeID := "gen "+ev.Channel, ev.Channel, ""
		if ev.Channel == "pos" {
			name, storeID = "gen pos "+ev.StoreID, ev.StoreID
		}
		if _, ok := keys[name]; !ok {
			if keys[name], err = api.ensureSource(e.ctx, name, channel, storeID); err != nil {
				break
			}
			batches[name] = new(bytes.Buffer)
		}
		b := batches[name]
		if counts[name] == 0 {
			b.WriteString(`{"batch":[`)
		} else {
			b.WriteByte(',')
		}
		b.Write(ev.JSON)
		counts[name]++
		n++
		if counts[name] >= c.Batch {
			flush(name)
		}
	}
	if err == nil {
		for name := range batches {
			flush(name)
		}
	}
	close(reqs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errc:
		default:
		}
	}
	if err == nil {
		err = e.ctx.Err()
	}
	return n, err
}

// postBatch sends one batch, retrying while the server asks to.
func postBatch(ctx context.Context, client *http.Client, base, writeKey string, body []byte) error {
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/batch", bytes.NewReader(body))
		req.SetBasicAuth(writeKey, "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("send to %s: %w", base, err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case (resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests) && attempt < 30:
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			select {
			case <-time.After(time.Duration(max(wait, 1)) * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		default:
			return fmt.Errorf("send to %s: %s: %s", base, resp.Status, bytes.TrimSpace(msg))
		}
	}
}

// apiClient calls the management API.
type apiClient struct {
	base, key string
	hint      string // what to do when the server cannot be reached
	http      *http.Client
	headers   map[string]string // sent with every request (withHeader)
}

// ensureSource returns the write key of the named source, creating it if
// needed.
func (a *apiClient) ensureSource(ctx context.Context, name, channel, storeID string) (string, error) {
	var src struct {
		WriteKey string `json:"write_key"`
	}
	status, err := a.do(ctx, "GET", "/api/v1/sources/"+url.PathEscape(name), nil, &src)
	if err == nil && status == http.StatusOK {
		return src.WriteKey, nil
	}
	body, _ := json.Marshal(map[string]string{"name": name, "channel": channel, "store_id": storeID})
	status, err = a.do(ctx, "POST", "/api/v1/sources", body, &src)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("create source %q: HTTP %d", name, status)
	}
	return src.WriteKey, nil
}

func (a *apiClient) do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	resp, err := a.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return resp.StatusCode, errors.New("the server refused the admin key: pass --admin-key, or the --data-dir the server uses")
	}
	if resp.StatusCode < 300 && out != nil {
		return resp.StatusCode, json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode, nil
}

// writeCommerce writes the generator's stores, catalog and stock as the
// CSV files the commerce imports read.
func writeCommerce(e *env, gn *gen.Generator, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []struct {
		name, cmd string
		write     func(io.Writer) error
	}{
		{"stores.csv", "locations", gn.WriteStoresCSV},
		{"catalog.csv", "catalog", gn.WriteCatalogCSV},
		{"stock.csv", "stock", gn.WriteStockCSV},
	} {
		path := filepath.Join(dir, f.name)
		out, err := os.Create(path)
		if err != nil {
			return err
		}
		err = f.write(out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(e.stdout, "wrote %s: parcours %s import %s\n", path, f.cmd, path)
	}
	return nil
}

// recentStart is when a period of days ending now starts (to the minute,
// so that two runs in the same minute give the same events).
func recentStart(now time.Time, days int) time.Time {
	if days <= 0 {
		days = 30
	}
	return now.UTC().Truncate(time.Minute).AddDate(0, 0, -days)
}
