package server_test

import (
	"strings"
	"testing"
)

// TestIdempotencyKeysOverTheAPI: reservations, orders and stock
// adjustments take an Idempotency-Key header; the same key and body give
// the first answer back (201, Idempotent-Replayed: true), another body
// is a 422 idempotency_key_reused, and a malformed key a 400 (issue 14.6).
func TestIdempotencyKeysOverTheAPI(t *testing.T) {
	h := newHarness(t)
	h.commerceBasics()
	post := func(path, key, body string) (int, bool, map[string]any) {
		t.Helper()
		hdr := map[string]string{"Authorization": "Bearer " + h.admin}
		if key != "" {
			hdr["Idempotency-Key"] = key
		}
		code, header, out := h.do("POST", path, []byte(body), hdr)
		return code, header.Get("Idempotent-Replayed") == "true", out
	}
	reserve := `{"sku":"SHOE-42","location_id":"lyon","quantity":1,"customer":{"user_id":"sophie"}}`
	code, replayed, first := post("/api/v1/reservations", "res-1", reserve)
	if code != 201 || replayed {
		t.Fatalf("reservation: %d %v %v", code, replayed, first)
	}
	code, replayed, again := post("/api/v1/reservations", "res-1", reserve)
	if code != 201 || !replayed || again["id"] != first["id"] {
		t.Fatalf("retry: %d replayed=%v %v; want %v", code, replayed, again, first["id"])
	}
	code, _, other := post("/api/v1/reservations", "res-1", strings.Replace(reserve, `"quantity":1`, `"quantity":2`, 1))
	e, _ := other["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	if code != 422 || e["code"] != "idempotency_key_reused" || d["key"] != "res-1" || d["reservation_id"] != first["id"] {
		t.Fatalf("same key, other body: %d %v", code, other)
	}
	for _, bad := range []string{strings.Repeat("k", 256), "k\u200b"} {
		if code, _, out := post("/api/v1/reservations", bad, reserve); code != 400 || !strings.Contains(out["error"].(map[string]any)["message"].(string), "Idempotency-Key") {
			t.Fatalf("key %.10q: %d %v", bad, code, out)
		}
	}
	if _, s := h.call("GET", "/api/v1/stock/SHOE-42", ""); s["available"] != 4.0 {
		t.Fatalf("stock after one keyed reservation and its retries: %v", s)
	}

	order := `{"channel":"web","fulfilment":"ship","location_id":"lyon","currency":"EUR","customer":{"user_id":"sophie"},"lines":[{"sku":"SHOE-42","quantity":1}]}`
	code, _, o1 := post("/api/v1/orders", "ord-1", order)
	code2, replayed, o2 := post("/api/v1/orders", "ord-1", order)
	if code != 201 || code2 != 201 || !replayed || o1["id"] != o2["id"] {
		t.Fatalf("order and its retry: %d %v / %d %v %v", code, o1, code2, replayed, o2)
	}

	adjust := `{"reason":"count","deltas":[{"sku":"SHOE-42","location_id":"lyon","delta":2}]}`
	if code, _, out := post("/api/v1/stock/adjustments", "adj-1", adjust); code != 200 || out["applied"] != true {
		t.Fatalf("adjustment: %d %v", code, out)
	}
	if code, _, out := post("/api/v1/stock/adjustments", "adj-1", adjust); code != 200 || out["applied"] != false || len(out["stock"].([]any)) != 1 {
		t.Fatalf("adjustment retried: %d %v", code, out)
	}
	if code, _, out := post("/api/v1/stock/adjustments", "adj-1", strings.Replace(adjust, `"delta":2`, `"delta":20`, 1)); code != 422 {
		t.Fatalf("adjustment key with other deltas: %d %v", code, out)
	}
	if code, _, out := post("/api/v1/stock/adjustments", "adj-2", `{"key":"adj-3",`+adjust[1:]); code != 400 {
		t.Fatalf("two different keys: %d %v", code, out)
	}
	if _, s := h.call("GET", "/api/v1/stock/SHOE-42", ""); s["available"] != 5.0 {
		t.Fatalf("stock: %v; want 7 on hand - 2 held", s)
	}
}
