package server_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message/providers"
)

// routePattern is a route as the code registers it: an optional method and
// a path under one of the server's prefixes, with {wildcards}.
var routePattern = regexp.MustCompile(`^(?:(GET|POST|PUT|DELETE|PATCH) )?(/(?:api/v1|v1|t|u|c|hooks|metrics|healthz|readyz)(?:/[^\s"]*)?)$`)

// registeredRoutes returns every route the server registers, read from the
// code that registers them: the string literals shaped like a route in the
// non-test files of the packages that serve HTTP (whatever the form of
// their route tables), and the providers' callbacks, which are built from
// providers.Hooks. A route without a method is listed under GET and POST.
func registeredRoutes(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	add := func(method, path string) {
		if method == "" {
			seen["GET "+path], seen["POST "+path] = true, true
			return
		}
		seen[method+" "+path] = true
	}
	fset := token.NewFileSet()
	for _, dir := range []string{"../httpapi", ".", "../collect"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(fset, name, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				if m := routePattern.FindStringSubmatch(s); m != nil {
					add(m[1], m[2])
				}
				return true
			})
		}
	}
	for _, hk := range providers.Hooks() {
		add(hk.Method, "/hooks/"+hk.Type+"/{name}"+hk.Path)
	}
	list := make([]string, 0, len(seen))
	for r := range seen {
		list = append(list, r)
	}
	slices.Sort(list)
	return list
}

// hostileIDs replace a route's wildcards: ids that climb out of their
// path, are 10,000 bytes long, hold NUL or bytes that are not UTF-8, or
// are numbers out of range.
var hostileIDs = []string{"..%2F..%2Fetc%2Fpasswd", strings.Repeat("A", 10000), "a%00b", "%ff%fe", "-1", "99999999999999999999"}

// TestEveryRouteTakesHostileInput requests every route the server
// registers, on both engines, with hostile ids in its wildcards and a hostile body (not
// JSON, then 5,000 levels deep), with and without a key: none answers a
// 5xx or panics, the management API refuses every request without its
// key (401), and every error of the JSON families is a JSON error with a
// code and a message (issue 14.9).
func TestEveryRouteTakesHostileInput(t *testing.T) {
	var log logSink
	onEngines(t, func(t *testing.T, h *harness, _ engine) { everyRoute(t, h, &log) }, withLog(&log), withProviders(t, `
  - name: vg
    type: vonage
    settings: {api_key: key, api_secret: s, from: Boutique}
  - name: crm
    type: webhook
    settings: {url: "https://crm.example/hook", secret: crm-secret}
  - name: tw
    type: twilio
    settings: {account_sid: AC1, auth_token: tok, from: "+33700000000"}
  - name: wa
    type: whatsapp
    settings: {phone_number_id: "1", access_token: t, app_secret: app, verify_token: v}`))
}

// everyRoute requests every route of h's server with hostile input.
func everyRoute(t *testing.T, h *harness, log *logSink) {
	routes := registeredRoutes(t)
	for _, want := range []string{"POST /api/v1/sources", "GET /api/v1/stock/{sku}/nearby", "POST /v1/batch", "GET /u/{token}", "POST /hooks/webhook/{name}/receipts", "GET /readyz"} {
		if !slices.Contains(routes, want) {
			t.Fatalf("the route list misses %s: %v", want, routes)
		}
	}
	if len(routes) < 100 {
		t.Fatalf("only %d routes found; the registrations moved? %v", len(routes), routes)
	}
	wildcard := regexp.MustCompile(`\{[a-z_]+(\.\.\.)?\}`)
	bodies := [][]byte{[]byte("{\"a\":\x00"), []byte(`{"a":` + nest(5000) + `}`)}
	providerOf := map[string]string{"vonage": "vg", "webhook": "crm", "twilio": "tw", "whatsapp": "wa"}
	requests := 0
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		for i, id := range hostileIDs {
			p := wildcard.ReplaceAllString(path, id)
			if strings.HasPrefix(path, "/hooks/") && i%2 == 0 {
				// Half with the provider the route belongs to, to reach
				// its signature check.
				p = strings.Replace(path, "{name}", providerOf[strings.Split(path, "/")[2]], 1)
			}
			for _, auth := range []string{"", "admin", "write"} {
				row := hostile{method: method, path: p, auth: auth, body: bodies[(i+len(auth))%2]}
				if method == "GET" {
					row.body = nil
				}
				status, ctype, raw := h.send(row)
				requests++
				where := method + " " + shorten(p) + " (key: " + auth + ")"
				if status >= 500 {
					t.Errorf("%s: %d %.300s", where, status, raw)
					continue
				}
				// The web chat is the visitor token's (401), rate-limited (429).
				if strings.HasPrefix(path, "/api/v1/") && path != "/api/v1/login" && !strings.HasPrefix(path, "/api/v1/chat/") && auth != "admin" && status != 401 {
					t.Errorf("%s: %d without the admin key, want 401", where, status)
				}
				if status >= 400 && (strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/hooks/")) && status != 405 {
					var e struct {
						Error struct{ Code, Message string } `json:"error"`
					}
					if !strings.HasPrefix(ctype, "application/json") || json.Unmarshal(raw, &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
						t.Errorf("%s: %d %q %.300s; want a JSON error with a code and a message", where, status, ctype, raw)
					}
				}
				if len(raw) > 64<<10 && path != "/api/v1/openapi.json" { // the contract is a document, whatever the input
					t.Errorf("%s: a %d-byte answer", where, len(raw))
				}
			}
		}
	}
	if strings.Contains(log.String(), "panicked") {
		t.Fatalf("a handler panicked:\n%s", log.String())
	}
	t.Logf("%d routes, %d hostile requests", len(routes), requests)
}

// shorten cuts a path for a message.
func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
