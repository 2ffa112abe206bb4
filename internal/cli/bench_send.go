package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/bench"
	"github.com/parcours/parcours/internal/config"
)

type benchSendCmd struct {
	Recipients int           `help:"Opted-in customers to send to." default:"20000"`
	Mode       []string      `help:"What to measure: broadcast (a segment of every recipient, a journey scheduled on it, one send step) and/or api (POST /api/v1/messages, one per recipient, from --callers callers)." enum:"broadcast,api" default:"broadcast,api"`
	Callers    int           `help:"Concurrent callers of the API in api mode." default:"16"`
	Batch      int           `help:"Messages per call in api mode: 1 calls POST /api/v1/messages once per recipient, more calls POST /api/v1/messages/batch (at most 1000)." default:"1"`
	Pool       int           `help:"SMTP connections the server's provider keeps." default:"16"`
	Runs       int           `help:"Runs of each mode; the summary reports medians." default:"3"`
	Timeout    time.Duration `help:"Longest a run may take to deliver every email." default:"10m"`
	ServerArgs []string      `name:"server-arg" sep:"none" help:"A flag for each server started (repeat it for several)." placeholder:"FLAG"`
	// SendProfile profiles the send alone, not the seeding before it.
	SendProfile string `help:"Write a CPU profile of each server's send (from after the seeding to the last email) to PREFIX-MODE-RUN.prof, and its heap at its largest during the send to PREFIX-MODE-RUN.prof.heap (go tool pprof)." placeholder:"PREFIX" type:"path"`
}

// sendRun is what one run of one mode measured.
type sendRun struct {
	Mode          string  `json:"mode"`
	Recipients    int     `json:"recipients"`
	Delivered     int     `json:"delivered"`
	Lost          int     `json:"lost"`
	Duplicates    int     `json:"duplicates"`
	EmailsPerSec  float64 `json:"emails_per_sec"` // first to last email received
	CPUPerEmailMS float64 `json:"server_cpu_ms_per_email"`
	// SettledCPUPerEmailMS adds what the server spent after the last email
	// until its stages had handled every announcement.
	SettledCPUPerEmailMS float64 `json:"server_cpu_ms_per_email_settled"`
	ServerPeakMiB        int64   `json:"server_peak_rss_mib"`
	// SendPeakMiB is the peak from the end of the seeding on (-1: not
	// known, without Linux's clear_refs).
	SendPeakMiB int64   `json:"server_send_peak_rss_mib"`
	Seconds     float64 `json:"seconds"`
}

// Run starts a fresh server per run with an SMTP sink in this process,
// fills it with opted-in recipients, sends to all of them and reads at the
// sink how fast the emails arrived, none lost and none twice.
func (c *benchSendCmd) Run(g *config.Globals, e *env) error {
	if c.Recipients < 1 {
		return fmt.Errorf("--recipients %d: must be at least 1", c.Recipients)
	}
	sink, err := bench.StartSMTPSink()
	if err != nil {
		return err
	}
	defer sink.Close()
	var runs []sendRun
	for i := range max(c.Runs, 1) {
		for _, mode := range c.Mode {
			if !g.JSON {
				fmt.Fprintf(e.stderr, "run %d/%d %-9s %d recipients ...\n", i+1, c.Runs, mode, c.Recipients)
			}
			sink.Reset()
			r, err := c.run(e, g, sink, mode, i+1)
			if err != nil {
				return err
			}
			runs = append(runs, r)
		}
	}
	return c.report(g, e, runs)
}

func (c *benchSendCmd) run(e *env, g *config.Globals, sink *bench.SMTPSink, mode string, run int) (sendRun, error) {
	args := c.ServerArgs
	if c.SendProfile != "" {
		args = append(slices.Clip(args), fmt.Sprintf("--cpu-profile-on-signal=%s-%s-%d.prof", c.SendProfile, mode, run))
	}
	srv, api, err := startSinkServer(e, g, sink, c.Pool, args)
	if err != nil {
		return sendRun{}, err
	}
	defer srv.stop()
	if err := seedRecipients(e.ctx, api, srv, c.Recipients); err != nil {
		return sendRun{}, err
	}
	if err := api.do("POST", "/api/v1/templates", `{"id":"promo","topic":"offers","body":{"email":{
		"subject":"{{ profile.first_name }}, -20 % ce week-end",
		"html":"<p>Bonjour {{ profile.first_name }},</p><p>Nos nouveautés vous attendent : <a href=\"https://shop.example/soldes\">la boutique</a>.</p>"}}}`, nil); err != nil {
		return sendRun{}, err
	}
	pid := srv.cmd.Process.Pid
	if c.SendProfile != "" {
		_ = srv.cmd.Process.Signal(syscall.SIGUSR1)
	}
	// The send's own peak: the resident high-water mark is reset once
	// the seeding is done (Linux: clear_refs 5), the whole run's kept.
	_, seedPeak := procMemory(pid)
	sendPeakKnown := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	cpu0, start := procCPU(pid), time.Now()
	switch mode {
	case "broadcast":
		err = c.broadcast(api)
	case "api":
		err = c.viaAPI(api)
	}
	if err != nil {
		return sendRun{}, err
	}
	deadline := time.Now().Add(c.Timeout)
	settled, last := time.Now(), 0
	heapAt := time.Now()
	for {
		if c.SendProfile != "" && time.Since(heapAt) > 2*time.Second {
			// The server keeps a heap profile at its largest.
			_ = srv.cmd.Process.Signal(syscall.SIGUSR2)
			heapAt = time.Now()
		}
		n := sink.Counts().Emails
		if n != last {
			settled, last = time.Now(), n
		}
		if n >= c.Recipients && time.Since(settled) > 2*time.Second {
			break // everything arrived, and nothing more for 2 s (a duplicate would)
		}
		if time.Now().After(deadline) || (n > 0 && time.Since(settled) > time.Minute) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cpu := procCPU(pid) - cpu0
	_, peak := procMemory(pid)
	sendPeak := int64(-1)
	if sendPeakKnown {
		sendPeak, peak = peak, max(peak, seedPeak)
	}
	got := sink.Counts()
	// What the emails cost downstream (their announcements through every
	// stage) is counted once the stages have caught up.
	var downstream time.Duration
	if err := api.settle(e.ctx); err == nil {
		downstream = procCPU(pid) - cpu0 - cpu
	}
	r := sendRun{Mode: mode, Recipients: c.Recipients, Delivered: got.Distinct, Lost: c.Recipients - got.Distinct,
		Duplicates: got.Duplicates, ServerPeakMiB: peak, SendPeakMiB: sendPeak, Seconds: time.Since(start).Seconds()}
	if span := got.Last.Sub(got.First).Seconds(); span > 0 {
		r.EmailsPerSec = float64(got.Emails) / span
	}
	if got.Emails > 0 {
		r.CPUPerEmailMS = float64(cpu.Microseconds()) / 1000 / float64(got.Emails)
		r.SettledCPUPerEmailMS = float64((cpu + downstream).Microseconds()) / 1000 / float64(got.Emails)
	}
	return r, nil
}

// startSinkServer starts a fresh serve whose SMTP provider (pool
// connections) delivers to sink, with a public URL so that marketing email
// carries its unsubscribe link, and returns it with a client of its API.
func startSinkServer(e *env, g *config.Globals, sink *bench.SMTPSink, pool int, extra []string) (*benchServer, *benchAPI, error) {
	dir, err := os.MkdirTemp("", "parcours-bench-providers-")
	if err != nil {
		return nil, nil, err
	}
	providers := filepath.Join(dir, "providers.yaml")
	if err := os.WriteFile(providers, fmt.Appendf(nil, `providers:
  - name: sink
    type: smtp
    settings:
      host: 127.0.0.1
      port: %d
      tls: none
      from: "Boutique <shop@shop.example>"
      message_id_domain: shop.example
      pool_size: %d
`, sink.Port, pool), 0o600); err != nil {
		return nil, nil, err
	}
	args := append([]string{"--providers", providers, "--public-url", "https://crm.shop.example"}, extra...)
	srv, err := startBenchServer(e, g, args, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	srv.cleanup = append(srv.cleanup, dir)
	api, err := srv.api()
	if err != nil {
		srv.stop()
		return nil, nil, err
	}
	return srv, api, nil
}

// seedRecipients sends n recipients' identify (user id r0, r1, ...,
// email, first name, email opt-in) through the tracking API and waits
// until every stage has handled them.
func seedRecipients(ctx context.Context, api *benchAPI, srv *benchServer, n int) error {
	client := &http.Client{Timeout: time.Minute}
	for from := 0; from < n; from += 500 {
		var b strings.Builder
		b.WriteString(`{"batch":[`)
		for i := from; i < min(from+500, n); i++ {
			if i > from {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"type":"identify","userId":"r%d","traits":{"email":"r%d@example.com","first_name":"Client%d","emailOptIn":true}}`, i, i, i)
		}
		b.WriteString(`]}`)
		for try := 0; ; try++ {
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.url+"/v1/batch", strings.NewReader(b.String()))
			req.SetBasicAuth(srv.writeKey, "")
			resp, err := client.Do(req)
			if err != nil {
				return fmt.Errorf("bench send: seed: %w", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
			// The server sheds load while its ingestion budget is spent
			// (503, 429): the batch goes again a moment later.
			if (resp.StatusCode == 503 || resp.StatusCode == 429) && try < 100 {
				time.Sleep(500 * time.Millisecond)
				continue
			}
			return fmt.Errorf("bench send: seed: the tracking API answered %d", resp.StatusCode)
		}
	}
	return api.settle(ctx)
}

// broadcast saves a segment of every opted-in customer and a journey
// scheduled on it at the next minute, with one send step.
func (c *benchSendCmd) broadcast(api *benchAPI) error {
	if err := api.do("POST", "/api/v1/segments?wait=true", `{"id":"everyone","name":"Everyone opted in","where":{"consent":"email"}}`, nil); err != nil {
		return err
	}
	at := time.Now().UTC().Add(time.Minute).Truncate(time.Minute)
	if time.Until(at) < 15*time.Second {
		at = at.Add(time.Minute)
	}
	return api.do("POST", "/api/v1/journeys", fmt.Sprintf(`{"journeys":[{"id":"broadcast","name":"Broadcast",
		"triggers":[{"schedule":{"at":%q,"zone":"utc","segment":"everyone"}}],
		"steps":[{"send":{"channel":"email","template":"promo"}}]}]}`, at.Format("15:04")), nil)
}

// sendBatch sends recipients [from, to) in one POST /api/v1/messages/batch
// and fails unless every message was accepted.
func sendBatch(api *benchAPI, from, to int) error {
	var b strings.Builder
	b.WriteString(`{"channel":"email","template_id":"promo","messages":[`)
	for i := from; i < to; i++ {
		if i > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"identifier":"user_id:r%d","idempotency_key":"bench-%d"}`, i, i)
	}
	b.WriteString(`]}`)
	var out struct {
		Accepted int `json:"accepted"`
		Refused  int `json:"refused"`
	}
	if err := api.do("POST", "/api/v1/messages/batch", b.String(), &out); err != nil {
		return err
	}
	if out.Refused > 0 || out.Accepted != to-from {
		return fmt.Errorf("bench send: a batch of %d messages: %d accepted, %d refused", to-from, out.Accepted, out.Refused)
	}
	return nil
}

// viaAPI sends one message per recipient through POST /api/v1/messages
// from c.Callers callers.
func (c *benchSendCmd) viaAPI(api *benchAPI) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Value
	n := min(max(c.Batch, 1), 1000)
	for range max(c.Callers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				from := int(next.Add(int64(n))) - n
				if from >= c.Recipients {
					return
				}
				var err error
				if c.Batch <= 1 {
					body := fmt.Sprintf(`{"identifier":"user_id:r%d","channel":"email","template_id":"promo","idempotency_key":"bench-%d"}`, from, from)
					err = api.do("POST", "/api/v1/messages", body, nil)
				} else {
					err = sendBatch(api, from, min(from+n, c.Recipients))
				}
				if err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return nil
}

func (c *benchSendCmd) report(g *config.Globals, e *env, runs []sendRun) error {
	medians := map[string]sendRun{}
	for _, mode := range c.Mode {
		of := func(r sendRun) bool { return r.Mode == mode }
		pick := func(f func(sendRun) float64) float64 { return medianBy(runs, of, f) }
		medians[mode] = sendRun{Mode: mode, Recipients: c.Recipients,
			EmailsPerSec:         pick(func(r sendRun) float64 { return r.EmailsPerSec }),
			CPUPerEmailMS:        pick(func(r sendRun) float64 { return r.CPUPerEmailMS }),
			SettledCPUPerEmailMS: pick(func(r sendRun) float64 { return r.SettledCPUPerEmailMS }),
			ServerPeakMiB:        int64(pick(func(r sendRun) float64 { return float64(r.ServerPeakMiB) })),
			SendPeakMiB:          int64(pick(func(r sendRun) float64 { return float64(r.SendPeakMiB) }))}
	}
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"runs": runs, "median": medians})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "mode\trecipients\tdelivered\tlost\tduplicates\temails/s\tserver CPU ms/email\twith downstream\tserver peak MiB\tsend peak MiB\t")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.0f\t%.3f\t%.3f\t%d\t%d\t\n", r.Mode, r.Recipients, r.Delivered, r.Lost, r.Duplicates, r.EmailsPerSec, r.CPUPerEmailMS, r.SettledCPUPerEmailMS, r.ServerPeakMiB, r.SendPeakMiB)
	}
	for _, mode := range c.Mode {
		r := medians[mode]
		fmt.Fprintf(tw, "median %s\t\t\t\t\t%.0f\t%.3f\t%.3f\t%d\t%d\t\n", mode, r.EmailsPerSec, r.CPUPerEmailMS, r.SettledCPUPerEmailMS, r.ServerPeakMiB, r.SendPeakMiB)
	}
	return tw.Flush()
}

// benchAPI calls a server's management API with its admin key.
type benchAPI struct {
	url, key string
	client   *http.Client
}

// do sends a request and decodes a 2xx answer into out (if not nil); any
// other status is an error quoting the answer.
func (a *benchAPI) do(method, path, body string, out any) error {
	req, _ := http.NewRequest(method, a.url+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("bench: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("bench: %s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// settle waits until every stage of the server has handled the whole log
// and the log has stopped growing, from its /metrics.
func (a *benchAPI) settle(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := a.client.Get(a.url + "/metrics")
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		behind := false
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "parcours_stage_behind_events{") && !strings.HasSuffix(line, " 0") {
				behind = true
			}
		}
		if !behind && strings.Contains(string(b), "parcours_stage_behind_events{") {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("bench: the server's stages did not catch up within 5 minutes")
}
