package server_test

import (
	"fmt"
	"testing"
)

// TestTrackingShortPaths: the one-letter paths analytics.js uses take the
// call of their type, with the write key, and anything else under /v1/ is
// a 404 that lists the tracking API.
func TestTrackingShortPaths(t *testing.T) {
	h := newHarness(t)
	runScenarios(t, h, []apiScenario{
		{Name: "identify", Method: "POST", URL: "/v1/i", WriteKey: true, Body: `{"userId":"u1","traits":{"email":"zoe@example.fr"}}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"success":true`}},
		{Name: "page", Method: "POST", URL: "/v1/p", WriteKey: true, Body: `{"userId":"u1","name":"Home"}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"success":true`}},
		{Name: "screen", Method: "POST", URL: "/v1/s", WriteKey: true, Body: `{"userId":"u1","name":"Cart"}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"success":true`}},
		{Name: "group", Method: "POST", URL: "/v1/g", WriteKey: true, Body: `{"userId":"u1","groupId":"g1"}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"success":true`}},
		{Name: "alias", Method: "POST", URL: "/v1/a", WriteKey: true, Body: `{"userId":"u1","previousId":"anon-1"}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"success":true`}},
		{Name: "a track on the alias path is an alias without previousId", Method: "POST", URL: "/v1/a", WriteKey: true, Body: `{"userId":"u1"}`,
			ExpectedStatus: 400, ExpectedContent: []string{`previousId`}},
		{Name: "no write key", Method: "POST", URL: "/v1/i", Body: `{"userId":"u1"}`, ExpectedStatus: 401},
		{Name: "unknown tracking path", Method: "POST", URL: "/v1/nope", WriteKey: true, Body: `{}`,
			ExpectedStatus: 404, ExpectedContent: []string{"the tracking API is POST /v1/track"}},
		{Name: "an unclean path is cleaned, never redirected", Method: "POST", URL: "//v1/p/", WriteKey: true, Body: `{"userId":"u2","name":"About"}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"success":true`}},
		{Name: "the tracking API's root is a 404, never a redirect", Method: "POST", URL: "/v1", WriteKey: true, Body: `{}`,
			ExpectedStatus: 404, ExpectedContent: []string{"the tracking API is POST /v1/track"}},
		{Name: "CORS preflight", Method: "OPTIONS", URL: "/v1/i", ExpectedStatus: 204},
		{Name: "another method", Method: "GET", URL: "/v1/i", ExpectedStatus: 405, ExpectedContent: []string{`"code":"method_not_allowed"`, "use POST"}},
		{Name: "a provider callback for no provider of the type", Method: "POST", URL: "/hooks/twilio/ghost/status", Body: "MessageSid=SM1",
			Headers:        map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			ExpectedStatus: 404, ExpectedContent: []string{"no twilio provider ghost", `"id":"ghost"`}},
		{Name: "anything else", Method: "GET", URL: "/nope", ExpectedStatus: 404, ExpectedContent: []string{`"code":"not_found"`, "no such endpoint: GET /nope"}},
	})
	types := map[string]int{}
	for _, e := range h.events() {
		types[string(e.Type)]++
	}
	if fmt.Sprint(types) != "map[alias:1 group:1 identify:1 page:2 screen:1]" {
		t.Errorf("stored %v", types)
	}
}

// TestManagementRouteScenarios requests the management routes no other
// test of this package did (templates by id, topics, segment list and
// archive, locations, reservations' release, order returns, the measure
// reports, costs, cohorts, attribution and KPI definitions), and checks
// that a 404 names what it did not find.
func TestManagementRouteScenarios(t *testing.T) {
	h := newHarness(t)
	h.commerceBasics()
	runScenarios(t, h, []apiScenario{
		{Name: "put a template", Method: "PUT", URL: "/api/v1/templates/welcome", Admin: true, Body: `{"topic":"newsletter","body":{"sms":{"body":"Bienvenue {{ profile.traits.firstName }}"}}}`,
			ExpectedStatus: 201, ExpectedContent: []string{`"id":"welcome"`, `"version":1`}},
		{Name: "get it", Method: "GET", URL: "/api/v1/templates/welcome", Admin: true,
			ExpectedStatus: 200, ExpectedContent: []string{`"id":"welcome"`, "Bienvenue"}},
		{Name: "delete it", Method: "DELETE", URL: "/api/v1/templates/welcome", Admin: true, ExpectedStatus: 204},
		{Name: "it is gone, and the 404 says what", Method: "GET", URL: "/api/v1/templates/welcome", Admin: true,
			ExpectedStatus: 404, ExpectedContent: []string{`"kind":"template"`, `"id":"welcome"`, "no template welcome"}},
		{Name: "topics", Method: "GET", URL: "/api/v1/topics", Admin: true, ExpectedStatus: 200, ExpectedContent: []string{`"topics"`}},
		{Name: "topics need the admin key", Method: "GET", URL: "/api/v1/topics", ExpectedStatus: 401, ExpectedContent: []string{"Authorization: Bearer KEY"}},

		{Name: "save a segment", Method: "POST", URL: "/api/v1/segments", Admin: true, Body: `{"id":"reachable","name":"Reachable by email","where":{"reachable":"email"}}`,
			ExpectedStatus: 202, ExpectedContent: []string{`"status":"backfilling"`}},
		{Name: "list segments", Method: "GET", URL: "/api/v1/segments", Admin: true, ExpectedStatus: 200, ExpectedContent: []string{`"id":"reachable"`}},
		{Name: "archive it", Method: "POST", URL: "/api/v1/segments/reachable/archive", Admin: true, ExpectedStatus: 200},
		{Name: "archive one that does not exist", Method: "POST", URL: "/api/v1/segments/ghost/archive", Admin: true,
			ExpectedStatus: 404, ExpectedContent: []string{`"kind":"segment"`, `"id":"ghost"`}},

		{Name: "a location", Method: "GET", URL: "/api/v1/locations/lyon", Admin: true, ExpectedStatus: 200, ExpectedContent: []string{`"id":"lyon"`, `"name":"Lyon"`}},
		{Name: "no such location", Method: "GET", URL: "/api/v1/locations/ghost", Admin: true,
			ExpectedStatus: 404, ExpectedContent: []string{`"kind":"location"`, `"id":"ghost"`}},
		{Name: "returns of no order", Method: "GET", URL: "/api/v1/orders/ghost/returns", Admin: true,
			ExpectedStatus: 404, ExpectedContent: []string{`"kind":"order"`, `"id":"ghost"`}},
		{Name: "release no reservation", Method: "POST", URL: "/api/v1/reservations/ghost/release", Admin: true,
			ExpectedStatus: 404, ExpectedContent: []string{`"kind":"reservation"`, `"id":"ghost"`}},

		{Name: "KPI definitions", Method: "GET", URL: "/api/v1/measure/kpis/definitions", Admin: true, ExpectedStatus: 200, ExpectedContent: []string{"revenue"}},
		{Name: "cohorts", Method: "GET", URL: "/api/v1/measure/cohorts?interval=month&by=first_order", Admin: true, ExpectedStatus: 200},
		{Name: "cohorts of a bad interval", Method: "GET", URL: "/api/v1/measure/cohorts?interval=year", Admin: true,
			ExpectedStatus: 400, ExpectedContent: []string{`"field":"interval"`, `"reason"`}},
		{Name: "attribution", Method: "GET", URL: "/api/v1/measure/attribution?by=channel", Admin: true, ExpectedStatus: 200},
		{Name: "costs", Method: "GET", URL: "/api/v1/measure/costs", Admin: true, ExpectedStatus: 200},
		{Name: "save a funnel", Method: "POST", URL: "/api/v1/measure/reports", Admin: true,
			Body:           `{"reports":[{"kind":"funnel","id":"checkout","name":"Checkout","steps":[{"name":"Viewed","event":"Product Viewed"},{"name":"Ordered","event":"Order Completed"}],"window":"7d"}]}`,
			ExpectedStatus: 200, ExpectedContent: []string{"checkout"}},
		{Name: "list reports", Method: "GET", URL: "/api/v1/measure/reports", Admin: true, ExpectedStatus: 200, ExpectedContent: []string{`"checkout"`}},
		{Name: "read one", Method: "GET", URL: "/api/v1/measure/reports/checkout", Admin: true, ExpectedStatus: 200, ExpectedContent: []string{`"version"`}},
		{Name: "run it", Method: "GET", URL: "/api/v1/measure/reports/checkout/run", Admin: true, ExpectedStatus: 200, ExpectedContent: []string{"Product Viewed"}},
		{Name: "delete it", Method: "DELETE", URL: "/api/v1/measure/reports/checkout", Admin: true, ExpectedStatus: 200, ExpectedContent: []string{`"deleted":"checkout"`}},
		{Name: "it is gone", Method: "GET", URL: "/api/v1/measure/reports/checkout", Admin: true,
			ExpectedStatus: 404, ExpectedContent: []string{`"kind":"report"`, `"id":"checkout"`}},
	})

	// A reservation made, then released: its stock comes back.
	code, res := h.call("POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"lyon","quantity":2,"customer":{"user_id":"u1"}}`)
	if code != 201 && code != 200 {
		t.Fatalf("reserve: %d %v", code, res)
	}
	runScenarios(t, h, []apiScenario{
		{Name: "release it", Method: "POST", URL: fmt.Sprintf("/api/v1/reservations/%v/release", res["id"]), Admin: true,
			ExpectedStatus: 200, ExpectedContent: []string{`"status":"released"`}},
	})
	if n := h.onHand("SHOE-42", "lyon"); n != 5 {
		t.Errorf("on hand %d after the release, want 5", n)
	}
}

// TestFallbackScenarios: what no route serves is a 404 naming the method
// and path; under /api/v1/ only after the admin key, so that the API's
// shape is not told to strangers.
func TestFallbackScenarios(t *testing.T) {
	h := newHarness(t)
	runScenarios(t, h, []apiScenario{
		{Name: "an unknown management path without the key", Method: "GET", URL: "/api/v1/nope",
			ExpectedStatus: 401, ExpectedCode: "unauthorized", NotExpectedContent: []string{"nope"}},
		{Name: "an unknown management path", Method: "GET", URL: "/api/v1/nope", Admin: true,
			ExpectedStatus: 404, ExpectedCode: "not_found", ExpectedMessage: "no such endpoint: GET /api/v1/nope"},
		{Name: "a method a route does not serve", Method: "DELETE", URL: "/api/v1/sources", Admin: true,
			ExpectedStatus: 404, ExpectedMessage: "no such endpoint: DELETE /api/v1/sources"},
		{Name: "a wrong admin key", Method: "GET", URL: "/api/v1/sources", Headers: map[string]string{"Authorization": "Bearer nope"},
			ExpectedStatus: 401, ExpectedMessage: "this is not an API key"},
		{Name: "health", Method: "GET", URL: "/healthz", ExpectedStatus: 200, ExpectedContent: []string{`"status":"ok"`}},
		{Name: "a public link that is not one", Method: "GET", URL: "/u/forged", ExpectedStatus: 404, ExpectedContent: []string{"This link is not valid."}},
	})
}
