package server_test

import (
	"strings"
	"testing"
)

// commerceBasics creates product shoe (SKU SHOE-42) and store lyon, with
// 5 in stock.
func (h *harness) commerceBasics() {
	h.t.Helper()
	h.scenarios([]apiScenario{
		adminCall("PUT", "/api/v1/locations/lyon", `{"name":"Lyon","lat":45.76,"lon":4.83,"time_zone":"Europe/Paris","capabilities":["click_collect","returns"]}`, 200, "", nil),
		adminCall("PUT", "/api/v1/products/shoe", `{"name":"Trail shoe","variants":[{"sku":"SHOE-42","price":89.9,"currency":"EUR"}]}`, 200, "", nil),
		adminCall("PUT", "/api/v1/stock/SHOE-42/lyon", `{"on_hand":5}`, 200, "", nil),
	})
}

// TestCommerceRefusesWhatDoesNotExist: stock, adjustments and
// reservations of an unknown SKU or at an unknown location answer 404
// naming which (issue 13.6).
func TestCommerceRefusesWhatDoesNotExist(t *testing.T) {
	h := newHarness(t)
	h.commerceBasics()
	h.scenarios([]apiScenario{
		adminCall("PUT", "/api/v1/stock/NOPE-1/lyon", `{"on_hand":5}`, 404, "unknown_sku", map[string]string{"field": "sku", "sku": "NOPE-1"}),
		adminCall("PUT", "/api/v1/stock/SHOE-42/ghost", `{"on_hand":5}`, 404, "unknown_location", map[string]string{"field": "location_id", "location_id": "ghost"}),
		adminCall("POST", "/api/v1/stock/adjustments", `{"key":"k1","deltas":[{"sku":"SHOE-42","location_id":"lyon","delta":1},{"sku":"NOPE-1","location_id":"lyon","delta":1}]}`,
			404, "unknown_sku", map[string]string{"field": "deltas[1].sku"}),
		adminCall("POST", "/api/v1/reservations", `{"sku":"NOPE-1","location_id":"lyon","quantity":1}`, 404, "unknown_sku", map[string]string{"sku": "NOPE-1"}),
		adminCall("POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"ghost","quantity":1}`, 404, "unknown_location", map[string]string{"location_id": "ghost"}),
		adminCall("POST", "/api/v1/orders", `{"channel":"web","currency":"EUR","location_id":"lyon","fulfilment":"click_collect","customer":{"user_id":"u1"},"lines":[{"sku":"SHOE-42","quantity":1,"price":10},{"sku":"NOPE-1","quantity":1,"price":10}]}`,
			404, "unknown_sku", map[string]string{"field": "lines[1].sku", "sku": "NOPE-1"}),
		adminCall("GET", "/api/v1/stock/NOPE-1", "", 404, "unknown_sku", nil),
		adminCall("GET", "/api/v1/stock/NOPE-1/nearby?lat=45.7&lon=4.8", "", 200, "", nil),
		// Nothing was written by the refusals: the adjustment's first
		// line did not apply.
		adminCall("GET", "/api/v1/stock/SHOE-42", "", 200, "", nil),
	})
	if _, s := h.call("GET", "/api/v1/stock/SHOE-42", ""); s["available"] != 5.0 || len(s["locations"].([]any)) != 1 {
		t.Fatalf("stock after refusals: %v", s)
	}
}

// TestCommerceIDsAreBounded: ids of 100,000 bytes, with NUL or spaces are
// refused with the field, in paths, bodies and filters; an overflowing
// adjustment is a 400 on its delta, never a wrapped-around number (issue
// 14.8).
func TestCommerceIDsAreBounded(t *testing.T) {
	h := newHarness(t)
	h.commerceBasics()
	long := strings.Repeat("x", 100000)
	h.scenarios([]apiScenario{
		adminCall("PUT", "/api/v1/stock/"+long+"/lyon", `{"on_hand":5}`, 400, "invalid_request", map[string]string{"field": "sku"}),
		adminCall("PUT", "/api/v1/stock/SHOE%00/lyon", `{"on_hand":5}`, 400, "invalid_request", map[string]string{"field": "sku"}),
		adminCall("PUT", "/api/v1/stock/SHOE-42/ly%00on", `{"on_hand":5}`, 400, "invalid_request", map[string]string{"field": "location_id"}),
		adminCall("PUT", "/api/v1/locations/"+long, `{"name":"Long","lat":1,"lon":1,"time_zone":"UTC"}`, 400, "invalid_request", map[string]string{"field": "id"}),
		adminCall("PUT", "/api/v1/products/p%00", `{"name":"Nul","variants":[{"sku":"N-1","price":1,"currency":"EUR"}]}`, 400, "invalid_request", map[string]string{"field": "id"}),
		adminCall("PUT", "/api/v1/products/p1", `{"name":"Nul","variants":[{"sku":"N\u0000","price":1,"currency":"EUR"}]}`, 400, "invalid_request", map[string]string{"field": "variants[0].sku"}),
		adminCall("POST", "/api/v1/reservations", `{"sku":"SHOE-42\u0000","location_id":"lyon","quantity":1}`, 400, "invalid_request", map[string]string{"field": "sku"}),
		adminCall("POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"`+long+`","quantity":1}`, 400, "invalid_request", map[string]string{"field": "location_id"}),
		adminCall("POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"lyon","quantity":10000000000000}`, 400, "invalid_request", map[string]string{"field": "quantity"}),
		adminCall("POST", "/api/v1/stock/adjustments", `{"deltas":[{"sku":"SHOE-42","location_id":"lyon","delta":9223372036854775807}]}`,
			400, "invalid_request", map[string]string{"field": "deltas[0].delta"}),
		adminCall("POST", "/api/v1/stock/adjustments", `{"key":"`+long+`","deltas":[{"sku":"SHOE-42","location_id":"lyon","delta":1}]}`,
			400, "invalid_request", map[string]string{"field": "key"}),
		adminCall("POST", "/api/v1/orders", `{"channel":"web","fulfilment":"ship","location_id":"lyon","currency":"EUR","customer":{"user_id":"u"},"lines":[{"sku":"A B","quantity":1}]}`,
			400, "invalid_request", map[string]string{"field": "lines[0].sku"}),
		adminCall("GET", "/api/v1/reservations/res%00", "", 400, "invalid_request", map[string]string{"field": "id"}),
		adminCall("GET", "/api/v1/reservations?sku=%00", "", 400, "invalid_request", map[string]string{"field": "sku"}),
		adminCall("GET", "/api/v1/reservations?status=held", "", 400, "invalid_request", map[string]string{"field": "status"}),
		adminCall("GET", "/api/v1/orders/"+long, "", 400, "invalid_request", map[string]string{"field": "id"}),
		adminCall("GET", "/api/v1/orders?customer=user_id:%00", "", 400, "invalid_request", map[string]string{"field": "customer"}),
		adminCall("GET", "/api/v1/products/"+long, "", 400, "invalid_request", map[string]string{"field": "id"}),
		adminCall("GET", "/api/v1/stock/%00/nearby?lat=1&lon=1", "", 400, "invalid_request", map[string]string{"field": "sku"}),
	})
	if _, s := h.call("GET", "/api/v1/stock/SHOE-42", ""); s["available"] != 5.0 {
		t.Fatalf("stock after refusals: %v", s)
	}
}
