package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parcours/parcours/internal/event"
)

// The browser SDKs, unmodified (testdata/sdk/README.md says which
// versions), in headless Chromium: a shop's page on one origin loads the
// SDK with only its documented host settings pointed at Parcours, on
// another origin, and sends page, track, identify and alias. What the SDK
// fetches first (its settings) is served by Parcours; its sends cross
// origins (CORS preflight, text/plain bodies), some are refused once and
// come back from the SDK's retry queue, the last leaves with the page
// (keepalive fetch, sendBeacon). Then the profile API shows one customer:
// the anonymous browsing joined to the known customer on identify, with
// the page's context.

// chromiumPath finds the browser, or skips the test: CI installs it
// (.ci/run); PARCOURS_CHROMIUM names another.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PARCOURS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium found (apt-get install chromium, or set PARCOURS_CHROMIUM)")
	return ""
}

// iPhone is the user agent the page is browsed with: the profile must say
// mobile.
const iPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// newBrowser starts headless Chromium with a fresh profile; the context
// ends with the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.UserAgent(iPhone),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, which lives as long as its
	// context: no timeout on it (each wait below has its own bound).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Everything after is bounded: a browser that hangs fails the test.
	bounded, cancelBound := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancelBound)
	return bounded
}

// flaky fronts Parcours and answers 503 to the first tracking request of
// each kind named in failOnce: the SDK must send it again from its queue.
type flaky struct {
	next     http.Handler
	mu       sync.Mutex
	failOnce map[string]bool // path → still to fail
	failed   []string
	seen     []string // method and path of every request, in order
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen = append(f.seen, r.Method+" "+r.URL.Path)
	fail := r.Method == "POST" && f.failOnce[r.URL.Path]
	if fail {
		f.failOnce[r.URL.Path] = false
		f.failed = append(f.failed, r.URL.Path)
	}
	f.mu.Unlock()
	if fail {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Retry-After", "0")
		http.Error(w, `{"error":{"code":"unavailable","message":"try again"}}`, http.StatusServiceUnavailable)
		return
	}
	f.next.ServeHTTP(w, r)
}

func (f *flaky) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// shop serves the test pages and the vendored SDK files on its own
// origin (localhost, where Parcours is 127.0.0.1: another origin).
func shop(t *testing.T, pages map[string]string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/sdk/", http.StripPrefix("/sdk/", http.FileServer(http.Dir("testdata/sdk"))))
	for p, html := range pages {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, html)
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// navigate opens url with a referrer, as a visitor coming from a search
// engine.
func navigate(url, referrer string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, page.Navigate, page.NavigateParams{URL: url, Referrer: referrer})
		if err != nil {
			return err
		}
		if res.ErrorText != "" {
			return fmt.Errorf("navigate %s: %s", url, res.ErrorText)
		}
		return nil
	})
}

// js runs a statement in the page.
func js(code string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](code+"; null")(ctx, t)
		return err
	})
}

// jsString evaluates a string expression in the page.
func jsString(ctx context.Context, t *testing.T, expr string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(ctx context.Context, t *testing.T, expr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	logs, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(window.__errors || [])`))
	t.Fatalf("in the page, %s never held (page errors: %s)", expr, logs)
}

// waitEvents waits until the log holds events matching each of want
// ("type" or "track:Event Name"), and returns the client's events.
func (h *harness) waitEvents(t *testing.T, want ...string) []*event.Event {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs := h.events()
		missing := []string{}
		for _, w := range want {
			found := false
			for _, e := range evs {
				typ, name, _ := strings.Cut(w, ":")
				if string(e.Type) == typ && (name == "" || e.Event == name) {
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return evs
		}
		if time.Now().After(deadline) {
			var got []string
			for _, e := range evs {
				got = append(got, string(e.Type)+":"+e.Event)
			}
			t.Fatalf("events never arrived: %v (the log holds %v)", missing, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// errorsHook records the page's errors for the failure messages.
const errorsHook = `<script>window.__errors=[];addEventListener("error",e=>__errors.push(String(e.message)));addEventListener("unhandledrejection",e=>__errors.push(String(e.reason)));</script>`

// segmentPage is Segment's snippet (analytics.js 2.0, snippet 5.2) as
// their docs give it, with the documented self-hosting settings changed:
// the script's src (our copy), analytics._cdn (where the settings come
// from: Parcours) and the batching delivery strategy (sends flushed with
// keepalive when the page goes).
const segmentPage = `<!doctype html><html><head><title>Trail shoes</title>` + errorsHook + `<script>
!function(){var i="analytics",analytics=window[i]=window[i]||[];if(!analytics.initialize)if(analytics.invoked)window.console&&console.error&&console.error("Segment snippet included twice.");else{analytics.invoked=!0;analytics.methods=["trackSubmit","trackClick","trackLink","trackForm","pageview","identify","reset","group","track","ready","alias","debug","page","screen","once","off","on","addSourceMiddleware","addIntegrationMiddleware","setAnonymousId","addDestinationMiddleware","register"];analytics.factory=function(e){return function(){if(window[i].initialized)return window[i][e].apply(window[i],arguments);var n=Array.prototype.slice.call(arguments);if(["track","screen","alias","group","page","identify"].indexOf(e)>-1){var c=document.querySelector("link[rel='canonical']");n.push({__t:"bpc",c:c&&c.getAttribute("href")||void 0,p:location.pathname,u:location.href,s:location.search,t:document.title,r:document.referrer})}n.unshift(e);analytics.push(n);return analytics}};for(var n=0;n<analytics.methods.length;n++){var key=analytics.methods[n];analytics[key]=analytics.factory(key)}analytics.load=function(key,n){var t=document.createElement("script");t.type="text/javascript";t.async=!0;t.setAttribute("data-global-segment-analytics-key",i);t.src="/sdk/segment/standalone.js";var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t,r);analytics._loadOptions=n};analytics._writeKey="WRITE_KEY";analytics._cdn="PARCOURS";analytics.SNIPPET_VERSION="5.2.0";
analytics.load("WRITE_KEY"LOAD_OPTIONS);
analytics.page();
}}();
</script></head><body><h1>Trail shoes</h1></body></html>`

// TestSegmentBrowserSDK: analytics.js 2.0 in Chromium, end to end.
func TestSegmentBrowserSDK(t *testing.T) {
	h := newHarness(t)
	f := &flaky{next: h.http.Config.Handler, failOnce: map[string]bool{"/v1/t": true}}
	parcours := httptest.NewServer(f)
	t.Cleanup(parcours.Close)
	page := func(opts string) string {
		return strings.NewReplacer("WRITE_KEY", h.src.WriteKey, "PARCOURS", parcours.URL, "LOAD_OPTIONS", opts).Replace(segmentPage)
	}
	base := shop(t, map[string]string{
		"/shoes":    page(""),
		"/checkout": page(`,{integrations:{"Segment.io":{deliveryStrategy:{strategy:"batching",config:{size:50,timeout:60000}}}}}`),
		"/bye":      "<!doctype html><title>bye</title>",
	})
	ctx := newBrowser(t)

	// Anonymous browsing from a campaign link, coming from a search engine.
	landing := base + "/shoes?utm_source=newsletter&utm_medium=email&utm_campaign=winter-sale"
	if err := chromedp.Do(ctx, navigate(landing, "http://search.example/results?q=trail")); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, `!!(window.analytics && window.analytics.initialized)`)
	anon := jsString(ctx, t, `analytics.user().anonymousId()`)
	// The first track is refused once (503): the SDK sends it again.
	if err := chromedp.Do(ctx, js(`analytics.track("Product Viewed", {sku: "TRAIL-42", category: "Shoes", brand: "Nord", price: 89.9})`)); err != nil {
		t.Fatal(err)
	}
	h.waitEvents(t, "page", "track:Product Viewed")

	// The customer signs in (identify), and the shop aliases the id the
	// app had for them before they signed in there.
	if err := chromedp.Do(ctx, js(`analytics.identify("u-42", {email: "zoe@example.fr", firstName: "Zoé"}).then(() => analytics.alias("u-42", "app-install-7"))`)); err != nil {
		t.Fatal(err)
	}
	h.waitEvents(t, "identify", "alias")

	// At checkout the page batches its sends; leaving it flushes the
	// batch with keepalive, the page already gone.
	if err := chromedp.Do(ctx, navigate(base+"/checkout", landing)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, `!!(window.analytics && window.analytics.initialized)`)
	if err := chromedp.Do(ctx,
		js(`analytics.track("Checkout Started", {value: 89.9})`),
		chromedp.Sleep(300*time.Millisecond), // the call goes through the plugins into the batch
		navigate(base+"/bye", ""),
	); err != nil {
		t.Fatal(err)
	}
	evs := h.waitEvents(t, "track:Checkout Started")

	reqs := strings.Join(f.requests(), "\n")
	for _, want := range []string{"GET /v1/projects/" + h.src.WriteKey + "/settings", "POST /v1/p", "POST /v1/t", "POST /v1/i", "POST /v1/a", "POST /v1/b"} {
		if !strings.Contains(reqs, want) {
			t.Errorf("the SDK never sent %s; it sent:\n%s", want, reqs)
		}
	}
	if len(f.failed) != 1 {
		t.Errorf("the refused track was not retried by the SDK: failed %v", f.failed)
	}
	checkBrowserProfile(t, h, evs, anon, "u-42")
}

// rudderPage loads RudderStack's JavaScript SDK v3 with the documented
// load options changed: the data plane URL and configUrl (Parcours),
// beacon sends when asked.
const rudderPage = `<!doctype html><html><head><title>Trail shoes</title>` + errorsHook + `
<script src="/sdk/rudderstack/index.js"></script>
<script>
window.ra = new rudderanalytics.RudderAnalytics();
ra.load("WRITE_KEY", "PARCOURS", {configUrl: "PARCOURS", LOAD_OPTIONS logLevel: "ERROR"});
ra.ready(() => { window.__ready = true; });
ra.page();
</script></head><body><h1>Trail shoes</h1></body></html>`

// TestRudderStackBrowserSDK: RudderStack's JavaScript SDK v3 in Chromium,
// end to end.
func TestRudderStackBrowserSDK(t *testing.T) {
	h := newHarness(t)
	f := &flaky{next: h.http.Config.Handler, failOnce: map[string]bool{"/v1/track": true}}
	parcours := httptest.NewServer(f)
	t.Cleanup(parcours.Close)
	page := func(opts string) string {
		return strings.NewReplacer("WRITE_KEY", h.src.WriteKey, "PARCOURS", parcours.URL, "LOAD_OPTIONS", opts).Replace(rudderPage)
	}
	base := shop(t, map[string]string{
		"/shoes":    page(""),
		"/checkout": page(`useBeacon: true,`),
		"/bye":      "<!doctype html><title>bye</title>",
	})
	ctx := newBrowser(t)

	landing := base + "/shoes?utm_source=newsletter&utm_medium=email&utm_campaign=winter-sale"
	if err := chromedp.Do(ctx, navigate(landing, "http://search.example/results?q=trail")); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, `window.__ready === true`)
	anon := jsString(ctx, t, `ra.getAnonymousId()`)
	if err := chromedp.Do(ctx, js(`ra.track("Product Viewed", {sku: "TRAIL-42", category: "Shoes", brand: "Nord", price: 89.9})`)); err != nil {
		t.Fatal(err)
	}
	h.waitEvents(t, "page", "track:Product Viewed")
	if err := chromedp.Do(ctx, js(`ra.identify("u-42", {email: "zoe@example.fr", firstName: "Zoé"}); ra.alias("u-42", "app-install-7")`)); err != nil {
		t.Fatal(err)
	}
	h.waitEvents(t, "identify", "alias")

	// With useBeacon, the SDK queues and sends with navigator.sendBeacon,
	// which outlives the page.
	if err := chromedp.Do(ctx, navigate(base+"/checkout", landing)); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, `window.__ready === true`)
	sameAnon := jsString(ctx, t, `ra.getAnonymousId()`)
	if err := chromedp.Do(ctx,
		js(`ra.track("Checkout Started", {value: 89.9})`),
		chromedp.Sleep(300*time.Millisecond),
		navigate(base+"/bye", ""),
	); err != nil {
		t.Fatal(err)
	}
	if sameAnon != anon {
		t.Errorf("the anonymous id did not survive the page change (its cookie): %q, then %q", anon, sameAnon)
	}
	evs := h.waitEvents(t, "track:Checkout Started")

	reqs := strings.Join(f.requests(), "\n")
	for _, want := range []string{"GET /sourceConfig/", "POST /v1/page", "POST /v1/track", "POST /v1/identify", "POST /v1/alias", "POST /beacon/v1/batch"} {
		if !strings.Contains(reqs, want) {
			t.Errorf("the SDK never sent %s; it sent:\n%s", want, reqs)
		}
	}
	if len(f.failed) != 1 {
		t.Errorf("the refused track was not retried by the SDK: failed %v", f.failed)
	}
	checkBrowserProfile(t, h, evs, anon, "u-42")
}

// checkBrowserProfile: every event the browser sent is on one profile,
// found by the anonymous id and by the user id; the page's context came
// along (URL, referrer: its origin, as the browser's default policy
// sends it across origins; UTM campaign, user agent) and the profile says
// mobile and the campaign.
func checkBrowserProfile(t *testing.T, h *harness, evs []*event.Event, anon, user string) {
	t.Helper()
	var page *event.Event
	for _, e := range evs {
		if e.Type == event.Page && page == nil {
			page = e
		}
	}
	if page == nil {
		t.Fatal("no page event")
	}
	ctx := string(page.Context)
	for _, want := range []string{`"url":"http://localhost:`, `utm_campaign=winter-sale`, `"referrer":"http://search.example/"`, `"userAgent":"` + iPhone, `"name":"winter-sale"`} {
		if !strings.Contains(ctx, want) {
			t.Errorf("the page's context lacks %s: %s", want, ctx)
		}
	}
	h.waitUnify()
	id := h.profileOf(user)
	code, byAnon := h.api("/api/v1/profiles?anonymous_id=" + anon)
	if code != 200 {
		t.Fatalf("no profile for the anonymous id %s: %d %v", anon, code, byAnon)
	}
	if got := int64(byAnon["id"].(float64)); got != id {
		t.Fatalf("the anonymous browsing is on profile %d, the customer on %d: identify did not join them", got, id)
	}
	code, tl := h.api(fmt.Sprintf("/api/v1/profiles/%d/timeline", id))
	if code != 200 {
		t.Fatalf("timeline: %d %v", code, tl)
	}
	names := map[string]bool{}
	for _, e := range tl["events"].([]any) {
		m := e.(map[string]any)
		names[fmt.Sprint(m["type"], ":", m["event"])] = true
	}
	for _, want := range []string{"page:<nil>", "track:Product Viewed", "identify:<nil>", "alias:<nil>", "track:Checkout Started"} {
		if !names[want] && !names[strings.Replace(want, "<nil>", "", 1)] {
			t.Errorf("the profile's timeline lacks %s: %v", want, names)
		}
	}
	comp := h.computed(user)
	if comp["device_type"] != "mobile" || comp["last_campaign"] != "winter-sale" {
		t.Errorf("computed device_type %v, last_campaign %v; want mobile, winter-sale", comp["device_type"], comp["last_campaign"])
	}
	code, p := h.api(fmt.Sprintf("/api/v1/profiles/%d", id))
	if code != 200 || !strings.Contains(fmt.Sprint(p), "zoe@example.fr") || !strings.Contains(fmt.Sprint(p), "app-install-7") {
		t.Errorf("the profile lacks the email or the alias: %v", p)
	}
}
