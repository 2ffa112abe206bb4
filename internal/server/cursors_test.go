package server_test

import (
	"encoding/base64"
	"fmt"
	"testing"
	"time"
)

// TestEveryListRefusesGarbageCursors: a cursor this API did not hand out
// is a 400 on every list. Reservations, orders, products and locations
// took any base64 as an id and answered 200 with an empty page (issue
// 14.8). A cursor handed out still pages.
func TestEveryListRefusesGarbageCursors(t *testing.T) {
	h := newHarness(t)
	h.commerceBasics()
	h.scenarios([]apiScenario{
		adminCall("PUT", "/api/v1/products/sock", `{"name":"Sock","variants":[{"sku":"SOCK-1","price":5,"currency":"EUR"}]}`, 200, "", nil),
		adminCall("POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"lyon","quantity":1}`, 201, "", nil),
		adminCall("POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"lyon","quantity":1}`, 201, "", nil),
		adminCall("POST", "/api/v1/segments?wait=true", `{"id":"all","name":"All","where":{"performed":{"event":"Viewed","within":"7d"}}}`, 200, "", nil),
	})
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/track", `{"userId":"u1","event":"Viewed","timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("track: %d %v", code, resp)
	}
	h.waitUnify()
	h.outboxDrained()
	_, found := h.api("/api/v1/profiles?user_id=u1")
	pid := fmt.Sprint(found["id"])

	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	garbage := []string{"garbage", "!!!", b64("abc"), b64("{}"), b64(`{"id":""}`), b64(`{"id":"x","more":1}`), b64(`{"b":-1}`),
		b64(`{"b":1,"a":2}`), b64(`{"t":5}`), b64(`{"id":"x"} {}`), b64("null")}
	lists := []string{"/api/v1/products", "/api/v1/locations", "/api/v1/reservations", "/api/v1/orders", "/api/v1/tasks",
		"/api/v1/events", "/api/v1/rejections", "/api/v1/profiles", "/api/v1/profiles/" + pid + "/timeline",
		"/api/v1/profiles/" + pid + "/messages", "/api/v1/segments/all/members", "/api/v1/segments/all/history"}
	var cases []apiScenario
	for _, l := range lists {
		for _, g := range garbage {
			cases = append(cases, adminCall("GET", l+"?cursor="+g, "", 400, "invalid_request", map[string]string{"field": "cursor"}))
		}
	}
	h.scenarios(cases)

	// Handed-out cursors page to the end, on string ids and integer ids.
	for _, l := range []string{"/api/v1/products", "/api/v1/reservations", "/api/v1/events"} {
		n, path := 0, l+"?limit=1"
		for range 10 {
			code, page := h.api(path)
			if code != 200 {
				t.Fatalf("GET %s: %d %v", path, code, page)
			}
			for k, v := range page {
				if items, ok := v.([]any); ok && k != "next_cursor" {
					n += len(items)
				}
			}
			next, _ := page["next_cursor"].(string)
			if next == "" {
				break
			}
			path = l + "?limit=1&cursor=" + next
		}
		if n < 2 {
			t.Errorf("%s paged through %d items, want at least 2", l, n)
		}
	}
}

// TestUnknownSegmentIsNotFound: members, counts and history of a segment
// that does not exist are a 404 naming it, not an empty list (issue 14.8).
func TestUnknownSegmentIsNotFound(t *testing.T) {
	h := newHarness(t)
	h.scenarios([]apiScenario{
		adminCall("GET", "/api/v1/segments/nope/members", "", 404, "not_found", map[string]string{"segment": "nope"}),
		adminCall("GET", "/api/v1/segments/nope/members?format=csv", "", 404, "not_found", map[string]string{"segment": "nope"}),
		adminCall("GET", "/api/v1/segments/nope/counts", "", 404, "not_found", map[string]string{"segment": "nope"}),
		adminCall("GET", "/api/v1/segments/nope/history", "", 404, "not_found", map[string]string{"segment": "nope"}),
		adminCall("POST", "/api/v1/segments?wait=true", `{"id":"some","name":"Some","where":{"performed":{"event":"Viewed","within":"7d"}}}`, 200, "", nil),
		adminCall("GET", "/api/v1/segments/some/members", "", 200, "", nil),
		adminCall("GET", "/api/v1/segments/some/counts", "", 200, "", nil),
		adminCall("GET", "/api/v1/segments/some/history", "", 200, "", nil),
	})
}
