package server_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parcours/parcours/internal/httpapi"
)

// apiScenario is one request to the server and what it must answer, in the
// manner of PocketBase's ApiScenario: handler tests are tables of them,
// run on a harness (a real server on a fresh store).
type apiScenario struct {
	Name   string
	Method string
	URL    string
	Body   string
	// Headers are sent as they are; Admin adds the admin key, WriteKey the
	// harness source's write key.
	Headers  map[string]string
	Admin    bool
	WriteKey bool
	// ExpectedStatus is the status; ExpectedContent are fragments the body
	// must hold, NotExpectedContent fragments it must not.
	ExpectedStatus     int
	ExpectedContent    []string
	NotExpectedContent []string
	// ExpectedCode is the error's code, ExpectedMessage a fragment of its
	// message, and ExpectedDetails fields of its details with their
	// values, when they are set.
	ExpectedCode    string
	ExpectedMessage string
	ExpectedDetails map[string]string
}

// adminCall is the short form of a management API scenario: a call with
// the admin key, its status and, for an error, its code and details.
func adminCall(method, url, body string, status int, code string, details map[string]string) apiScenario {
	return apiScenario{Name: method + " " + url, Method: method, URL: url, Body: body, Admin: true,
		ExpectedStatus: status, ExpectedCode: code, ExpectedDetails: details}
}

// test runs the scenario on h as a subtest.
func (s apiScenario) test(t *testing.T, h *harness) {
	t.Helper()
	t.Run(s.Name, func(t *testing.T) { s.run(t, h) })
}

// run sends the scenario's request on h and checks the answer.
func (s apiScenario) run(t testing.TB, h *harness) {
	t.Helper()
	{
		hd := map[string]string{}
		for k, v := range s.Headers {
			hd[k] = v
		}
		if s.Admin {
			hd["Authorization"] = "Bearer " + h.admin
		}
		if s.WriteKey {
			hd["Authorization"] = basic(h.src.WriteKey + ":")
		}
		status, body := h.raw(s.Method, s.URL, s.Body, hd)
		if status != s.ExpectedStatus {
			t.Errorf("%s %s: status %d, want %d; body %.600s", s.Method, s.URL, status, s.ExpectedStatus, body)
		}
		for _, want := range s.ExpectedContent {
			if !strings.Contains(body, want) {
				t.Errorf("%s %s: body lacks %q: %.600s", s.Method, s.URL, want, body)
			}
		}
		for _, not := range s.NotExpectedContent {
			if strings.Contains(body, not) {
				t.Errorf("%s %s: body holds %q: %.600s", s.Method, s.URL, not, body)
			}
		}
		if status == http.StatusNotFound && strings.HasPrefix(s.URL, "/api/v1/") && !strings.Contains(body, "no such endpoint") &&
			!strings.Contains(body, `"kind":`) {
			t.Errorf("%s %s: a 404 that does not name the kind of what it did not find: %.600s", s.Method, s.URL, body)
		}
		if s.ExpectedCode != "" || s.ExpectedMessage != "" || len(s.ExpectedDetails) > 0 {
			var e struct {
				Error struct {
					Code    string         `json:"code"`
					Message string         `json:"message"`
					Details map[string]any `json:"details"`
				} `json:"error"`
			}
			_ = json.Unmarshal([]byte(body), &e)
			if !strings.Contains(e.Error.Message, s.ExpectedMessage) {
				t.Errorf("%s %s: message %q, want it to hold %q", s.Method, s.URL, e.Error.Message, s.ExpectedMessage)
			}
			if s.ExpectedCode != "" && e.Error.Code != s.ExpectedCode {
				t.Errorf("%s %s: code %q, want %q: %.600s", s.Method, s.URL, e.Error.Code, s.ExpectedCode, body)
			}
			for k, v := range s.ExpectedDetails {
				if fmt.Sprint(e.Error.Details[k]) != v {
					t.Errorf("%s %s: details.%s = %v, want %s: %.600s", s.Method, s.URL, k, e.Error.Details[k], v, body)
				}
			}
		}
	}
}

// scenarios runs scenarios on h in order, without subtests (for helpers
// that set a harness up).
func (h *harness) scenarios(list []apiScenario) {
	h.t.Helper()
	for _, s := range list {
		s.run(h.t, h)
	}
}

// runScenarios runs every scenario on h, in order (a scenario may depend
// on what the one before it created).
func runScenarios(t *testing.T, h *harness, scenarios []apiScenario) {
	t.Helper()
	for _, s := range scenarios {
		s.test(t, h)
	}
}

// requested is the set of route patterns (httpapi.Route.Key) the tests of
// this package requested, through any harness; table is the route table.
var (
	requestedMu sync.Mutex
	requested   = map[string]bool{}
	table       []httpapi.Route
)

// unnamed lists the 404s of the management API that did not name the kind
// of what they did not find, whichever test got them.
var unnamed []string

// observe records the pattern that served each request (the ServeMux sets
// it on the request it is given), and the 404s that name nothing.
func observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &sniffer{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		requestedMu.Lock()
		defer requestedMu.Unlock()
		requested[r.Pattern] = true
		body := sw.body.String()
		if sw.status == http.StatusNotFound && strings.HasPrefix(r.URL.Path, "/api/v1/") &&
			!strings.Contains(body, "no such endpoint") && !strings.Contains(body, `"kind":`) {
			unnamed = append(unnamed, r.Method+" "+r.URL.Path+": "+body)
		}
	})
}

// sniffer keeps a response's status and the start of its body.
type sniffer struct {
	http.ResponseWriter
	status int
	body   strings.Builder
}

func (s *sniffer) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *sniffer) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if s.body.Len() < 4096 {
		s.body.Write(b[:min(len(b), 4096)])
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the tracking
// API sets read deadlines on it).
func (s *sniffer) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush lets streamed answers (CSV exports) through.
func (s *sniffer) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestMain checks, after the tests, that every 404 of the management API
// they got named the kind of what was not found, and after a run of the
// whole package, that every route of the table was requested by at least
// one test.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if len(unnamed) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: 404s of the management API that do not name what they did not find:\n\t%s\n", strings.Join(unnamed, "\n\t"))
		os.Exit(1)
	}
	if code != 0 || flag.Lookup("test.run").Value.String() != "" || flag.Lookup("test.skip").Value.String() != "" || testing.Short() || len(table) == 0 {
		os.Exit(code)
	}
	var missing []string
	for _, r := range table {
		if !requested[r.Key()] {
			missing = append(missing, r.Key())
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		fmt.Fprintf(os.Stderr, "FAIL: %d routes of the table were requested by no test of internal/server:\n\t%s\n", len(missing), strings.Join(missing, "\n\t"))
		os.Exit(1)
	}
	os.Exit(code)
}
