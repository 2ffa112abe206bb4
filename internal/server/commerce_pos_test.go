package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/source"
)

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (h *harness) onHand(sku, loc string) int64 {
	rows, err := h.st.StockOf(context.Background(), sku)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range rows {
		if r.Location == loc {
			return r.OnHand
		}
	}
	return -1
}

// TestTillSalesDecrementStoreStockOnce sends the same receipt twice (a
// client retry with a new message id would be a new sale; the same message
// id is the same sale) and replays the consumer from zero: the store's
// stock drops once.
func TestTillSalesDecrementStoreStockOnce(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pos, _ := source.New("Lyon till", "pos", "lyon", now)
	if err := h.st.CreateSource(ctx, pos); err != nil {
		t.Fatal(err)
	}
	seedCatalog(t, h.srv.Commerce(), []string{"SHOE-42", "SOCK"}, []string{"lyon"})
	if _, err := h.srv.Commerce().SetStock(ctx, []commerce.StockLevel{{SKU: "SHOE-42", Location: "lyon", OnHand: 10}, {SKU: "SOCK", Location: "lyon", OnHand: 1}}); err != nil {
		t.Fatal(err)
	}
	sale := `{"type":"track","messageId":"till-1","userId":"sophie","event":"Order Completed","properties":{"order_id":"T-1",
		"products":[{"sku":"SHOE-42","quantity":2},{"sku":"SOCK","quantity":3}],"total":200}}`
	for range 2 {
		code, _, body := h.do("POST", "/v1/track", []byte(sale), map[string]string{"Authorization": basic(pos.WriteKey + ":")})
		if code != 200 {
			t.Fatalf("track: %d %v", code, body)
		}
	}
	waitFor(t, "the sale to reach the stock", func() bool { return h.onHand("SHOE-42", "lyon") == 8 })
	// The till sold 3 socks with one on record: stock stops at 0 (the
	// shortfall is logged), it never goes negative.
	if n := h.onHand("SOCK", "lyon"); n != 0 {
		t.Fatalf("SOCK on hand %d, want 0", n)
	}
	// Replaying the log from the start changes nothing.
	if err := h.st.SaveCheckpoint(ctx, commerce.Consumer, 0); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Commerce().Handle(ctx, h.events()); err != nil {
		t.Fatal(err)
	}
	if n := h.onHand("SHOE-42", "lyon"); n != 8 {
		t.Fatalf("after a replay SHOE-42 on hand is %d, want 8", n)
	}
}

func TestAnonymousCartMergesOnIdentify(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct{ path, body string }{
		{"/api/v1/carts/anonymous_id:a1", `{"items":[{"sku":"SHOE-42","quantity":1,"price":80},{"sku":"SOCK","quantity":2,"price":5}]}`},
		{"/api/v1/carts/user_id:sophie", `{"items":[{"sku":"SHOE-42","quantity":1,"price":89.9}]}`},
	} {
		if code, body := h.call("PUT", c.path, c.body); code != 200 {
			t.Fatalf("PUT %s: %d %v", c.path, code, body)
		}
		h.clock.Advance(time.Minute)
	}
	h.clock.Advance(time.Minute)
	if code, _ := h.ingest("/v1/identify", `{"anonymousId":"a1","userId":"sophie"}`); code != 200 {
		t.Fatal(code)
	}
	var cart map[string]any
	waitFor(t, "the carts to merge", func() bool {
		_, cart = h.call("GET", "/api/v1/carts/user_id:sophie", "")
		return len(cart["items"].([]any)) == 2
	})
	shoe := cart["items"].([]any)[0].(map[string]any)
	// Quantities add up; the newest line's price wins (the known cart's,
	// written after the anonymous one).
	if shoe["quantity"] != 2.0 || shoe["price"] != 89.9 {
		t.Fatalf("merged cart %v", cart)
	}
	// The anonymous id now names the same one cart.
	if _, anon := h.call("GET", "/api/v1/carts/anonymous_id:a1", ""); anon["customer"] != "user_id:sophie" || len(anon["items"].([]any)) != 2 {
		t.Fatalf("the anonymous id's cart is not Sophie's: %v", anon)
	}
	if c, err := h.st.Cart(context.Background(), "anonymous_id:a1"); err != nil || c.Version != 0 {
		t.Fatalf("the anonymous cart is still kept: %+v %v", c, err)
	}
}

func TestReservationsExpireInTheBackground(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.ReservationSweep = 5 * time.Millisecond })
	ctx := context.Background()
	seedCatalog(t, h.srv.Commerce(), []string{"SHOE-42"}, []string{"lyon"})
	if _, err := h.srv.Commerce().SetStock(ctx, []commerce.StockLevel{{SKU: "SHOE-42", Location: "lyon", OnHand: 1}}); err != nil {
		t.Fatal(err)
	}
	code, res := h.call("POST", "/api/v1/reservations", `{"sku":"SHOE-42","location_id":"lyon","quantity":1,"ttl":"2h","customer":{"user_id":"sophie"}}`)
	if code != 201 {
		t.Fatalf("reserve: %d %v", code, res)
	}
	time.Sleep(50 * time.Millisecond)
	if _, r := h.call("GET", "/api/v1/reservations/"+res["id"].(string), ""); r["status"] != "active" {
		t.Fatalf("expired before its time: %v", r)
	}
	h.clock.Advance(2 * time.Hour)
	waitFor(t, "the reservation to expire", func() bool {
		_, r := h.call("GET", "/api/v1/reservations/"+res["id"].(string), "")
		return r["status"] == "expired"
	})
	if _, s := h.call("GET", "/api/v1/stock/SHOE-42", ""); s["available"] != 1.0 {
		t.Fatalf("stock after expiry: %v", s)
	}
}

// TestStoreAssociateFindsTheCustomer loads a customer's cart and the
// stores near them by profile id, as a store tablet does.
func TestStoreAssociateFindsTheCustomer(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/api/v1/locations/lyon", `{"name":"Lyon","lat":45.7606,"lon":4.8593,"time_zone":"Europe/Paris","opening_hours":{"mon":["10:00-19:00"]}}`},
		{"PUT", "/api/v1/locations/paris", `{"name":"Paris","lat":48.8606,"lon":2.3376,"time_zone":"Europe/Paris"}`},
		{"PUT", "/api/v1/products/shoe", `{"name":"Trail shoe","variants":[{"sku":"SHOE-42","price":89.9,"currency":"EUR"}]}`},
		{"PUT", "/api/v1/stock/SHOE-42/lyon", `{"on_hand":2}`},
		{"PUT", "/api/v1/stock/SHOE-42/paris", `{"on_hand":2}`},
		{"PUT", "/api/v1/carts/user_id:sophie", `{"items":[{"sku":"SHOE-42","quantity":1,"price":89.9}]}`},
	} {
		if code, body := h.call(c.method, c.path, c.body); code != 200 {
			t.Fatalf("%s %s: %d %v", c.method, c.path, code, body)
		}
	}
	// Sophie browses from Paris.
	if code, _ := h.ingest("/v1/track", `{"userId":"sophie","event":"Product Viewed","context":{"location":{"latitude":48.85,"longitude":2.35}}}`); code != 200 {
		t.Fatal(code)
	}
	h.waitUnify()
	_, p := h.api("/api/v1/profiles?user_id=sophie")
	id := fmt.Sprint(p["id"])
	if _, cart := h.call("GET", "/api/v1/carts/"+id, ""); cart["customer"] != "user_id:sophie" || len(cart["items"].([]any)) != 1 {
		t.Fatalf("cart by profile id: %v", cart)
	}
	_, near := h.call("GET", "/api/v1/stock/SHOE-42/nearby?customer="+id, "")
	locs := near["locations"].([]any)
	if len(locs) != 2 || locs[0].(map[string]any)["location"].(map[string]any)["id"] != "paris" {
		t.Fatalf("nearby the customer: %v", near)
	}
	// Monday 10:00 UTC is 11:00 in Lyon: open; Paris has no opening hours.
	if locs[1].(map[string]any)["open_now"] != true || locs[0].(map[string]any)["open_now"] != false {
		t.Fatalf("open_now: %v", locs)
	}
	if code, body := h.call("PUT", "/api/v1/carts/"+id, `{"items":[],"version":7}`); code != 400 || body["error"].(map[string]any)["details"].(map[string]any)["field"] != "version" {
		t.Fatalf("stale cart version: %d %v", code, body)
	}
}
