package stories_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/cli"
	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/unify"
)

// start is +0 of the stories: Monday 23 November 2026, 10:00 UTC.
var start = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// publicURL is the server's --public-url: the base of tracking and
// unsubscribe links, and the URL Twilio signs its webhooks with.
const publicURL = "https://crm.shop.example"

// live is a running `parcours serve` — the server the serve command
// assembles, on the embedded store of a fresh data directory — on a fake
// clock, with its providers file pointing at local fakes of SMTP, Twilio,
// WhatsApp Cloud and FCM.
type live struct {
	t        *testing.T
	start    time.Time // +0
	dir      string
	st       store.Store
	srv      *server.Server
	http     *httptest.Server
	clock    *clock.Fake
	admin    string
	writeKey string
	box      *inbox
	twilio   *twilioFake
}

// liveOptions change what a story's server starts with.
type liveOptions struct {
	// templates is the --templates directory; default testdata/templates.
	templates string
	// stores is the --stores-file; default testdata/stores.yaml.
	stores string
	// start is +0, where the clock starts; default start.
	start time.Time
	// prepare runs in the data directory before serve starts (imports
	// whose data serve reads at start: the stores).
	prepare func(l *live)
}

// The providers file, as a brand writes it: secrets as ${ENV} references.
const providersFile = `providers:
  - name: smtp-local
    type: smtp
    rate_per_second: 100
    settings:
      host: 127.0.0.1
      port: %d
      tls: none
      from: "Boutique Parcours <boutique@shop.example>"
  - name: twilio-fr
    type: twilio
    rate_per_second: 30
    settings:
      account_sid: AC0123456789abcdef0123456789abcdef
      auth_token: ${STORIES_TWILIO_TOKEN}
      from: "+33700000000"
      status_callback: https://crm.shop.example/hooks/twilio/twilio-fr/status
      base_url: %s
  - name: whatsapp
    type: whatsapp
    settings:
      phone_number_id: "106540352242922"
      access_token: ${STORIES_WHATSAPP_TOKEN}
      app_secret: ${STORIES_WHATSAPP_SECRET}
      base_url: %s
  - name: fcm
    type: fcm
    settings:
      service_account: ${STORIES_FCM_SERVICE_ACCOUNT}
      base_url: %s
`

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "twilio-auth-token-31337"
	twilioFrom  = "+33700000000"
)

// newLive starts a server as `parcours serve --providers FILE --templates
// DIR --stores-file FILE --public-url https://crm.shop.example` would, on a
// fake clock, with a web source and the admin key.
func newLive(t *testing.T, o liveOptions) *live {
	t.Helper()
	ctx := context.Background()
	if o.templates == "" {
		o.templates = "testdata/templates"
	}
	if o.stores == "" {
		o.stores = "testdata/stores.yaml"
	}
	if o.start.IsZero() {
		o.start = start
	}
	l := &live{t: t, start: o.start, dir: t.TempDir(), clock: clock.NewFake(o.start), box: &inbox{}}
	smtpSrv := startSMTP(t, l.box)
	l.twilio = startTwilio(t, l.box, twilioSID, twilioToken, twilioFrom, publicURL+"/hooks/twilio/twilio-fr/status")
	wa := startWhatsApp(t, l.box, "106540352242922", "wa-token")
	fcm := startFCM(t, l.box, "parcours-stories")
	t.Setenv("STORIES_TWILIO_TOKEN", twilioToken)
	t.Setenv("STORIES_WHATSAPP_TOKEN", "wa-token")
	t.Setenv("STORIES_WHATSAPP_SECRET", "wa-app-secret")
	t.Setenv("STORIES_FCM_SERVICE_ACCOUNT", fcm.serviceAccount())
	_, port, _ := strings.Cut(smtpSrv.addr, ":")
	var smtpPort int
	fmt.Sscan(port, &smtpPort)
	provFile := filepath.Join(l.dir, "providers.yaml")
	if err := os.WriteFile(provFile, fmt.Appendf(nil, providersFile, smtpPort, l.twilio.srv.URL, wa.srv.URL, fcm.srv.URL), 0o600); err != nil {
		t.Fatal(err)
	}

	if o.prepare != nil {
		o.prepare(l)
	}

	// What `parcours serve` does, with serve's own assembly of the
	// options (cli.ServeOptions) and the fake clock.
	st, err := sqlite.Open(ctx, l.dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l.st = st
	if l.admin, err = server.EnsureAdminKey(ctx, st, l.dir, o.start); err != nil {
		t.Fatal(err)
	}
	so, closeProviders, err := cli.ServeOptions(ctx, []string{"--data-dir", l.dir, "--providers", provFile, "--templates", o.templates,
		"--stores-file", o.stores, "--public-url", publicURL}, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	so.Clock = l.clock
	// Workers look for due messages every 20 ms rather than every second:
	// a story moves its clock often.
	so.Messages.Poll = 20 * time.Millisecond
	l.srv = server.New(st, so)
	l.srv.Start()
	l.http = httptest.NewServer(l.srv.Handler())
	t.Cleanup(func() {
		l.http.Close()
		l.srv.Close()
		closeProviders()
		st.Close()
	})
	var src struct {
		WriteKey string `json:"write_key"`
	}
	l.call("POST", "/api/v1/sources", map[string]any{"name": "Web shop", "channel": "web"}, &src)
	l.writeKey = src.WriteKey
	l.waitTemplates(o.templates)
	return l
}

// waitTemplates waits until serve has imported the template files.
func (l *live) waitTemplates(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	l.eventually("the template files imported", func() bool {
		var got struct {
			Templates []any `json:"templates"`
		}
		l.call("GET", "/api/v1/templates", nil, &got)
		return len(got.Templates) >= len(files)
	})
}

// call sends a management API request with the admin key and decodes a
// 2xx answer into out; any other status fails the test.
func (l *live) call(method, path string, body, out any) {
	l.t.Helper()
	if code, raw := l.try(method, path, body); code >= 300 {
		l.t.Fatalf("%s %s: %d %s", method, path, code, raw)
	} else if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			l.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
}

// try sends a management API request and returns the status and body.
func (l *live) try(method, path string, body any) (int, []byte) {
	l.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			l.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, l.http.URL+path, r)
	req.Header.Set("Authorization", "Bearer "+l.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// track sends one event to the tracking API with the source's write key,
// stamped with the clock's now unless it has a timestamp.
func (l *live) track(kind string, ev map[string]any) {
	l.t.Helper()
	if _, ok := ev["timestamp"]; !ok {
		ev["timestamp"] = l.clock.Now().Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(ev)
	// As a tracking library does: a 503 (the log is busy, as under the
	// race detector on a loaded machine) is sent again after its
	// Retry-After; nothing of a refused request was stored.
	for attempt := 1; ; attempt++ {
		req, _ := http.NewRequest("POST", l.http.URL+"/v1/"+kind, bytes.NewReader(b))
		req.SetBasicAuth(l.writeKey, "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			l.t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && attempt < 30 {
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(secs, 1)) * time.Second)
			continue
		}
		if resp.StatusCode != 200 {
			l.t.Fatalf("POST /v1/%s: %d %s", kind, resp.StatusCode, raw)
		}
		return
	}
}

// parcours runs a parcours command in this process, as a user would run
// it beside the server, and fails the test if it fails.
func (l *live) parcours(args ...string) string {
	l.t.Helper()
	var out, errb bytes.Buffer
	if code := cli.Main(args, &out, &errb); code != 0 {
		l.t.Fatalf("parcours %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
	return out.String()
}

// apply runs `parcours apply -f PATH...` against the server.
func (l *live) apply(paths ...string) {
	l.t.Helper()
	args := []string{"apply", "--server", l.http.URL, "--admin-key", l.admin}
	for _, p := range paths {
		args = append(args, "-f", p)
	}
	l.parcours(args...)
}

// at lets the server finish what is due now, moves the clock to +d and
// lets it catch up: timers due by then fire, messages due are handed to
// the providers.
func (l *live) at(d time.Duration) {
	l.t.Helper()
	if now := l.clock.Now(); l.start.Add(d).Before(now) {
		l.t.Fatalf("at +%s: the clock is already at +%s", d, now.Sub(l.start))
	}
	l.settle()
	l.clock.Set(l.start.Add(d))
	l.settle()
}

// settle waits until the server has nothing left to do at the clock's
// now: every stage has read the whole log, commerce's outbox is relayed,
// no enrolment and no message is due or being sent, every message's
// state is announced on the log. Journey timers are ticked here rather
// than waiting for the engine's one-second tick (a tick holds the engine's
// lock, so one that returns nothing also waited for the engine's own).
//
// It fails when the server makes no progress (the log and the stages'
// checkpoints stand still) for 20 s, not after a fixed time: under the
// race detector on a loaded machine, a backfill of a few thousand events
// (and the events the stages derive from them) takes longer than that.
func (l *live) settle() {
	l.t.Helper()
	ctx := context.Background()
	consumers := []string{unify.Consumer, segment.Consumer, message.Consumer, journey.Consumer, commerce.Consumer}
	const stall = 20 * time.Second
	quiet, busy, progress := 0, "", int64(-1)
	deadline, giveUp := time.Now().Add(stall), time.Now().Add(5*time.Minute)
	for time.Now().Before(deadline) && time.Now().Before(giveUp) {
		busy = ""
		last, err := l.st.LastSeq(ctx)
		if err != nil {
			l.t.Fatal(err)
		}
		seqs, moved := make([]int64, len(consumers)), last
		for i, c := range consumers {
			if seqs[i], err = l.st.Checkpoint(ctx, c); err != nil {
				l.t.Fatal(err)
			}
			moved += seqs[i]
		}
		if moved != progress {
			progress, deadline = moved, time.Now().Add(stall)
		}
		for i, c := range consumers {
			if seq := seqs[i]; seq < last && (c != commerce.Consumer || l.commerceWaits(seq)) {
				busy = fmt.Sprintf("%s at %d of %d", c, seq, last)
				break // commerce last: reading what it has left is the dearest check
			}
		}
		if busy == "" {
			if pending, err := l.st.(commerce.OutboxStore).Outbox(ctx, 1); err != nil {
				l.t.Fatal(err)
			} else if len(pending) > 0 {
				busy = "commerce outbox"
			}
		}
		if busy == "" {
			if n, err := l.srv.Journeys().Tick(ctx); err != nil {
				l.t.Fatal(err)
			} else if n > 0 {
				busy = "journey timers"
			}
		}
		if busy == "" {
			for _, status := range []string{store.MessageQueued, store.MessageSending, store.MessageRetrying} {
				ms, err := l.st.ListMessages(ctx, store.MessageQuery{Status: status, Limit: 1000})
				if err != nil {
					l.t.Fatal(err)
				}
				for _, m := range ms {
					// A message being sent is held until its lease ends:
					// busy whatever its due time.
					if status == store.MessageSending || !m.DueAt.After(l.clock.Now()) {
						busy = "message " + m.SendKey + " " + status
					}
				}
			}
		}
		if busy == "" {
			// Message Sent and the like not yet on the log.
			if ms, err := l.st.Unnotified(ctx, 1); err != nil {
				l.t.Fatal(err)
			} else if len(ms) > 0 {
				busy = "message " + ms[0].SendKey + " not announced"
			}
		}
		if busy == "" {
			// Twice in a row: an API call's events may be between the
			// commerce outbox and the log for a moment.
			if quiet++; quiet == 3 {
				return
			}
		} else {
			quiet = 0
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.t.Fatalf("the server did not settle at +%s (no progress for %s, or still busy after 5 minutes): %s busy", l.clock.Now().Sub(l.start), stall, busy)
}

// commerceWaits reports whether an event past commerce's checkpoint is
// one commerce may act on (commerce.Service.Handle): a sale in a store,
// an identify or alias that merges carts. Commerce saves its checkpoint only
// every half second; the other events it skips need no wait.
func (l *live) commerceWaits(after int64) bool {
	events, err := l.st.ReadAfter(context.Background(), after, 10_000)
	if err != nil {
		l.t.Fatal(err)
	}
	for _, e := range events {
		switch {
		case e.SourceID == commerce.SourceID:
		case e.Type == event.Track && e.Event == "Order Completed":
			// A sale in a store: a store id, from the event or its source.
			if e.StoreID != "" || strings.Contains(string(e.Properties), `"store_id"`) {
				return true
			}
		case e.Type == event.Identify && e.UserID != "" && e.AnonymousID != "", e.Type == event.Alias:
			return true
		}
	}
	return false
}

// eventually polls cond until it holds, for at most ten seconds.
func (l *live) eventually(what string, cond func() bool) {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			l.t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// profile returns a customer's profile by an identifier (kind=value as
// the API's query takes it: user_id=sara).
func (l *live) profile(query string) map[string]any {
	l.t.Helper()
	var p map[string]any
	l.call("GET", "/api/v1/profiles?"+query, nil, &p)
	return p
}

// outbox lists a customer's messages as the API shows them, oldest first.
func (l *live) outbox(query string) []map[string]any {
	l.t.Helper()
	p := l.profile(query)
	var out struct {
		Messages []map[string]any `json:"messages"`
	}
	l.call("GET", fmt.Sprintf("/api/v1/profiles/%v/messages", p["id"]), nil, &out)
	for i, j := 0, len(out.Messages)-1; i < j; i, j = i+1, j-1 {
		out.Messages[i], out.Messages[j] = out.Messages[j], out.Messages[i]
	}
	return out.Messages
}

// rawJSON is a JSON text to send as is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// timeline is a customer's timeline (its last 200 entries) as JSON.
func (l *live) timeline(query string) string {
	l.t.Helper()
	var tl any
	l.call("GET", fmt.Sprintf("/api/v1/profiles/%v/timeline?limit=200", l.profile(query)["id"]), nil, &tl)
	return toJSON(tl)
}
