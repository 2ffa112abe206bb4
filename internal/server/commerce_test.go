package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/unify"
)

// call sends a management API request with the admin key.
func (h *harness) call(method, path, body string) (int, map[string]any) {
	h.t.Helper()
	code, _, out := h.do(method, path, []byte(body), map[string]string{"Authorization": "Bearer " + h.admin})
	return code, out
}

// seedCatalog creates a product for each SKU and a store for each
// location id: commerce refuses stock of SKUs and at locations that do
// not exist.
func seedCatalog(t testing.TB, svc *commerce.Service, skus, locations []string) {
	t.Helper()
	ctx := context.Background()
	for _, sku := range skus {
		if err := svc.UpsertProducts(ctx, []*commerce.Product{{ID: "p-" + sku, Name: sku, Variants: []commerce.Variant{{SKU: sku, Price: 10, Currency: "EUR"}}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range locations {
		if err := svc.UpsertLocations(ctx, []*commerce.Location{{ID: id, Name: id, Lat: 45.76, Lon: 4.83, TimeZone: "Europe/Paris"}}); err != nil {
			t.Fatal(err)
		}
	}
}

// logged returns the names of commerce's events in the log.
// outboxDrained waits until the relay has moved every commerce event into
// the log (an entry is deleted only once its event is durable there).
func (h *harness) outboxDrained() {
	h.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if es, err := h.st.Outbox(context.Background(), 1); err == nil && len(es) == 0 {
			return
		}
	}
	h.t.Fatal("timed out waiting for the commerce outbox to drain")
}

func (h *harness) logged() map[string]int {
	h.t.Helper()
	h.outboxDrained()
	list, err := h.st.ReadAfter(context.Background(), 0, 100000)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range list {
		if e.SourceID == commerce.SourceID {
			out[e.Event]++
		}
	}
	return out
}

func TestCommerceSourceIsParcours(t *testing.T) {
	if commerce.SourceID != unify.SourceID {
		t.Fatalf("commerce.SourceID %q differs from unify.SourceID %q", commerce.SourceID, unify.SourceID)
	}
}

func TestCommerceAPI(t *testing.T) {
	h := newHarness(t)
	steps := []struct {
		method, path, body string
		status             int
		check              func(map[string]any) bool
	}{
		{"PUT", "/api/v1/locations/lyon", `{"name":"Lyon Part-Dieu","lat":45.7606,"lon":4.8593,"time_zone":"Europe/Paris",
			"opening_hours":{"mon":["10:00-19:30"]},"capabilities":["click_collect","returns"]}`, 200, nil},
		{"PUT", "/api/v1/locations/paris", `{"name":"Paris Rivoli","lat":48.8606,"lon":2.3376,"time_zone":"Europe/Paris","capabilities":["returns"]}`, 200, nil},
		{"PUT", "/api/v1/locations/bad", `{"name":"Bad","time_zone":"Mars/Olympus"}`, 400, func(b map[string]any) bool {
			return b["error"].(map[string]any)["details"].(map[string]any)["field"] == "time_zone"
		}},
		{"PUT", "/api/v1/products/shoe", `{"name":"Trail shoe","categories":["Shoes"],"variants":[{"sku":"SHOE-42","price":89.9,"currency":"EUR"}]}`, 200, nil},
		{"GET", "/api/v1/products?limit=10", "", 200, func(b map[string]any) bool { return len(b["products"].([]any)) == 1 }},
		{"PUT", "/api/v1/stock/SHOE-42/lyon", `{"on_hand":5,"safety":0}`, 200, func(b map[string]any) bool { return b["available"] == 5.0 }},
		{"GET", "/api/v1/stock/SHOE-42/nearby?lat=48.85&lon=2.35&limit=10", "", 200, func(b map[string]any) bool {
			l := b["locations"].([]any)
			return len(l) == 1 && l[0].(map[string]any)["location"].(map[string]any)["id"] == "lyon"
		}},
		{"POST", "/api/v1/orders", `{"channel":"web","fulfilment":"click_collect","location_id":"lyon","currency":"EUR",
			"customer":{"user_id":"sophie","email":"sophie@example.fr"},"lines":[{"sku":"SHOE-42","quantity":6}]}`, 409, func(b map[string]any) bool {
			return b["error"].(map[string]any)["code"] == "insufficient_stock"
		}},
		{"POST", "/api/v1/orders", `{"id":"web-1001","channel":"web","fulfilment":"click_collect","location_id":"lyon","currency":"EUR",
			"customer":{"user_id":"sophie","email":"sophie@example.fr"},"lines":[{"sku":"SHOE-42","quantity":2}]}`, 201, func(b map[string]any) bool {
			return b["status"] == "placed" && b["total"] == 179.8
		}},
		{"POST", "/api/v1/orders/web-1001/transitions", `{"to":"shipped"}`, 409, func(b map[string]any) bool {
			e := b["error"].(map[string]any)
			return e["code"] == "illegal_transition" && len(e["details"].(map[string]any)["allowed"].([]any)) == 2
		}},
		{"POST", "/api/v1/orders/web-1001/transitions", `{"to":"confirmed"}`, 200, nil},
		{"POST", "/api/v1/orders/web-1001/transitions", `{"to":"picking"}`, 200, nil},
		{"POST", "/api/v1/orders/web-1001/transitions", `{"to":"ready_for_pickup"}`, 200, nil},
		{"POST", "/api/v1/orders/web-1001/transitions", `{"to":"collected"}`, 200, func(b map[string]any) bool { return b["status"] == "collected" }},
		{"POST", "/api/v1/orders/web-1001/returns", `{"location_id":"paris","channel":"store","lines":[{"sku":"SHOE-42","quantity":1,"condition":"sellable"}]}`, 201,
			func(b map[string]any) bool { return b["refunded"] == 89.9 }},
		{"GET", "/api/v1/stock/SHOE-42", "", 200, func(b map[string]any) bool { return b["available"] == 4.0 }},
		{"POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"paris","quantity":1,"ttl":"2h","customer":{"anonymous_id":"a1"}}`, 201, nil},
		{"PUT", "/api/v1/carts/anonymous_id:a1", `{"items":[{"sku":"SHOE-42","quantity":1}],"currency":"eur"}`, 200, func(b map[string]any) bool {
			return b["total"] == 89.9 && b["currency"] == "EUR"
		}},
		{"GET", "/api/v1/carts/anonymous_id:a1", "", 200, func(b map[string]any) bool { return b["version"] == 1.0 }},
		{"GET", "/api/v1/orders?customer=user_id:sophie", "", 200, func(b map[string]any) bool { return len(b["orders"].([]any)) == 1 }},
		{"GET", "/api/v1/orders/nope", "", 404, nil},
	}
	for i, s := range steps {
		code, body := h.call(s.method, s.path, s.body)
		if code != s.status || (s.check != nil && !s.check(body)) {
			t.Fatalf("step %d: %s %s: %d %v", i, s.method, s.path, code, body)
		}
	}
	got := h.logged()
	for _, name := range []string{"Order Placed", "Order Confirmed", "Order Ready For Pickup", "Order Collected", "Order Returned",
		"Order Refunded", "Order Completed", "Back In Stock", "Low Stock", "Cart Updated", "Product Reserved"} {
		want := 1
		if name == "Back In Stock" {
			want = 2 // Lyon stocked, then Paris by the return
		}
		if got[name] != want {
			t.Errorf("%s logged %d times, want %d (all: %v)", name, got[name], want, got)
		}
	}
	// The order's events land on Sophie's timeline.
	h.waitUnify()
	h.waitUnify()
	code, p := h.api("/api/v1/profiles?user_id=sophie")
	if code != 200 {
		t.Fatalf("Sophie's profile: %d %v", code, p)
	}
	_, tl := h.api(fmt.Sprintf("/api/v1/profiles/%v/timeline?event=Order%%20Collected", p["id"]))
	if len(tl["events"].([]any)) != 1 {
		t.Fatalf("Order Collected is not on the profile's timeline: %v", tl)
	}
}
