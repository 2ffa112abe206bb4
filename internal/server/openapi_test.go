package server_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/parcours/parcours/internal/openapi"
)

// The OpenAPI contract (internal/openapi/openapi.json) is checked both
// ways: every management route has its operation and every operation is
// a route (TestOpenAPICoversRoutes), and the operations' examples are the
// running server's answers (TestOpenAPIExamples): each call of the
// scenario below is sent to serve, and its answer is validated against
// the operation's response schema by kin-openapi.

var captureOpenAPI = flag.String("capture-openapi", "", "write the scenario's requests and answers to this file (to write the contract's examples)")

// loadSpec parses and validates the contract.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Spec)
	if err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.json says openapi %s, want 3.1", doc.OpenAPI)
	}
	return doc
}

// TestOpenAPICoversRoutes: the contract lists the management API exactly
// as the route table serves it, and is served at /api/v1/openapi.json.
func TestOpenAPICoversRoutes(t *testing.T) {
	h := newHarness(t)
	doc := loadSpec(t)
	inSpec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec[method+" "+path] = true
		}
	}
	for _, r := range h.srv.Routes() {
		if !strings.HasPrefix(r.Pattern, "/api/v1/") || r.Pattern == "/api/v1/" {
			continue
		}
		key := r.Method + " " + r.Pattern
		if !inSpec[key] {
			t.Errorf("%s is a route without an operation in internal/openapi/openapi.json", key)
		}
		delete(inSpec, key)
	}
	for key := range inSpec {
		t.Errorf("openapi.json has %s, which no route serves", key)
	}
	code, raw := h.raw("GET", "/api/v1/openapi.json", "", map[string]string{"Authorization": "Bearer " + h.admin})
	if code != 200 || raw != string(openapi.Spec) {
		t.Errorf("GET /api/v1/openapi.json: %d, %d bytes; want the embedded contract", code, len(raw))
	}
}

// apiCall is one request of the scenario: the operation it calls, and
// what it sends.
type apiCall struct {
	op, method, path, body string
}

// contractScenario runs in order: what a call creates, a later one reads.
var contractScenario = []apiCall{
	{"postSources", "POST", "/api/v1/sources", `{"name":"Mobile app","channel":"ios"}`},
	{"getSources", "GET", "/api/v1/sources", ""},
	{"getSourcesById", "GET", "/api/v1/sources/Mobile%20app", ""},
	{"getEvents", "GET", "/api/v1/events?limit=2", ""},
	{"getRejections", "GET", "/api/v1/rejections", ""},
	{"getProfiles", "GET", "/api/v1/profiles?email=zoe@example.fr", ""},
	{"getProfilesById", "GET", "/api/v1/profiles/1", ""},
	{"getProfilesByIdTimeline", "GET", "/api/v1/profiles/1/timeline?limit=2", ""},
	{"getProfilesByIdMerges", "GET", "/api/v1/profiles/1/merges", ""},
	{"getProfilesByIdConsent", "GET", "/api/v1/profiles/1/consent", ""},
	{"postConsent", "POST", "/api/v1/consent", `{"profile_id":1,"channel":"email","topic":"newsletter","granted":true,"proof":{"form":"footer"}}`},
	{"postSegments", "POST", "/api/v1/segments", `{"id":"reachable","name":"Reachable by email","where":{"reachable":"email"}}`},
	{"getSegments", "GET", "/api/v1/segments", ""},
	{"getSegmentsById", "GET", "/api/v1/segments/reachable", ""},
	{"postSegmentsPreview", "POST", "/api/v1/segments/preview", `{"id":"viewers","name":"Viewers","where":{"performed":{"event":"Product Viewed"}}}`},
	{"getSegmentsByIdMembers", "GET", "/api/v1/segments/reachable/members", ""},
	{"postTemplates", "POST", "/api/v1/templates", `{"id":"welcome","topic":"newsletter","body":{"email":{"subject":"Bienvenue {{ profile.traits.firstName }}","html":"<p>Bonjour</p>"}}}`},
	{"getTemplates", "GET", "/api/v1/templates", ""},
	{"getTemplatesById", "GET", "/api/v1/templates/welcome", ""},
	{"postTemplatesByIdPreview", "POST", "/api/v1/templates/welcome/preview", `{"identifier":"email:zoe@example.fr"}`},
	{"getTopics", "GET", "/api/v1/topics", ""},
	{"postMessages", "POST", "/api/v1/messages", `{"identifier":"email:zoe@example.fr","channel":"email","topic":"newsletter","template_id":"welcome","idempotency_key":"welcome-zoe"}`},
	{"getProfilesByIdMessages", "GET", "/api/v1/profiles/1/messages", ""},
	{"deleteTemplatesById", "DELETE", "/api/v1/templates/welcome", ""},
	{"getJourneys", "GET", "/api/v1/journeys", ""},
	{"getTasks", "GET", "/api/v1/tasks", ""},
	{"getMeasureKpisDefinitions", "GET", "/api/v1/measure/kpis/definitions", ""},
	{"getMeasureStatus", "GET", "/api/v1/measure/status", ""},
	{"getMe", "GET", "/api/v1/me", ""},
	{"postUsers", "POST", "/api/v1/users", `{"email":"sam@example.fr","role":"agent","password":"correct horse battery"}`},
	{"getUsers", "GET", "/api/v1/users", ""},
	{"postKeys", "POST", "/api/v1/keys", `{"name":"CRM","role":"agent"}`},
	{"getKeys", "GET", "/api/v1/keys", ""},
	{"getAudit", "GET", "/api/v1/audit?limit=2", ""},
	{"getErasures", "GET", "/api/v1/erasures", ""},
}

// TestOpenAPIExamples sends the scenario to a running server and
// validates each answer against its operation in the contract; every
// operation that shows an example is in the scenario, so no example goes
// stale unnoticed.
func TestOpenAPIExamples(t *testing.T) {
	h := newHarness(t)
	doc := loadSpec(t)
	doc.Servers = nil // match any host: the test server's
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	// A customer to read.
	if code, out := h.ingest("/v1/identify", `{"userId":"u-42","anonymousId":"a-1","traits":{"email":"zoe@example.fr","firstName":"Zoé"}}`); code != 200 {
		t.Fatalf("identify: %d %v", code, out)
	}
	if code, out := h.ingest("/v1/track", `{"userId":"u-42","event":"Product Viewed","properties":{"sku":"TRAIL-42"}}`); code != 200 {
		t.Fatalf("track: %d %v", code, out)
	}
	h.waitUnify()

	captured := map[string]any{}
	called := map[string]bool{}
	for _, c := range contractScenario {
		req, _ := http.NewRequest(c.method, h.http.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+h.admin)
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Errorf("%s %s: %d %s", c.method, c.path, resp.StatusCode, raw)
			continue
		}
		// Validate against the contract, as a client generated from it
		// would read the answer.
		vreq, _ := http.NewRequest(c.method, h.http.URL+c.path, strings.NewReader(c.body))
		if c.body != "" {
			vreq.Header.Set("Content-Type", "application/json")
		}
		route, params, err := router.FindRoute(vreq)
		if err != nil {
			t.Errorf("%s %s: no operation in the contract: %v", c.method, c.path, err)
			continue
		}
		if route.Operation.OperationID != c.op {
			t.Errorf("%s %s: the contract's operation is %s, the scenario says %s", c.method, c.path, route.Operation.OperationID, c.op)
		}
		called[c.op] = true
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if c.body != "" {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Errorf("%s: the scenario's request does not fit the contract: %v", c.op, err)
			}
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		out.SetBodyBytes(raw)
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s: the answer does not fit the contract: %v\n%s", c.method, c.path, err, raw)
		}
		var body any
		_ = json.Unmarshal(raw, &body)
		var reqBody any
		_ = json.Unmarshal([]byte(c.body), &reqBody)
		captured[c.op] = map[string]any{"status": resp.StatusCode, "path": c.path, "request": reqBody, "response": body}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if hasExample(op) && !called[op.OperationID] {
				t.Errorf("%s %s (%s) shows an example but the scenario never calls it", method, path, op.OperationID)
			}
		}
	}
	if *captureOpenAPI != "" {
		b, _ := json.MarshalIndent(captured, "", "  ")
		if err := os.WriteFile(*captureOpenAPI, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var ops []string
	for op := range called {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	t.Logf("%d operations checked against serve's answers: %s", len(ops), strings.Join(ops, ", "))
}

// hasExample reports whether an operation shows an example of its answer.
func hasExample(op *openapi3.Operation) bool {
	for _, r := range op.Responses.Map() {
		if r.Value == nil {
			continue
		}
		for _, mt := range r.Value.Content {
			if mt.Example != nil || len(mt.Examples) > 0 {
				return true
			}
		}
	}
	return false
}
