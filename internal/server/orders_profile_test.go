package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/unify"
)

// orderTraits are the computed traits an order changes, as the profile
// API shows them.
var orderTraits = []string{"order_count", "lifetime_value", "average_order_value", "last_order_date", "days_since_last_purchase",
	"top_categories_bought", "rfm"}

func (h *harness) computed(user string) map[string]any {
	h.t.Helper()
	code, p := h.api("/api/v1/profiles?user_id=" + user)
	if code != 200 {
		h.t.Fatalf("profile of %s: %d %v", user, code, p)
	}
	return p["computed"].(map[string]any)
}

func (h *harness) orderView(user string) string {
	if code, _ := h.api("/api/v1/profiles?user_id=" + user); code != 200 {
		return fmt.Sprintf("no profile (%d)", code)
	}
	c := h.computed(user)
	out := ""
	for _, k := range orderTraits {
		out += fmt.Sprintf("%s=%s ", k, toJSON(c[k]))
	}
	return out
}

// waitView waits until user's order traits read want.
func (h *harness) waitView(t *testing.T, user, want string) {
	t.Helper()
	var got string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got = h.orderView(user); got == want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s:\n got  %s\nwant %s", user, got, want)
}

// TestCommerceOrdersCountLikeTillSales: Ana buys at the till, Bea buys
// the same things through POST /api/v1/orders; their profiles show the
// same order count, lifetime value, average order, last order date,
// categories bought and RFM. The till's receipt for Bea's order is the
// same order (no double count); a return refunded through commerce
// lowers Bea's lifetime value as a till's Order Refunded lowers Ana's,
// without changing the order count. Replaying the log gives the same
// profiles.
func TestCommerceOrdersCountLikeTillSales(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	pos, _ := source.New("Lyon till", "pos", "lyon", now)
	if err := h.st.CreateSource(ctx, pos); err != nil {
		t.Fatal(err)
	}
	till := func(body string) {
		t.Helper()
		code, _, resp := h.do("POST", "/v1/track", []byte(body), map[string]string{"Authorization": basic(pos.WriteKey + ":")})
		if code != 200 {
			t.Fatalf("till: %d %v", code, resp)
		}
	}
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/api/v1/locations/lyon", `{"name":"Lyon","lat":45.76,"lon":4.86,"time_zone":"Europe/Paris","capabilities":["returns"]}`},
		{"PUT", "/api/v1/products/shoe", `{"name":"Trail shoe","categories":["Shoes"],"variants":[{"sku":"SHOE-42","price":120,"currency":"EUR"}]}`},
		{"PUT", "/api/v1/products/bag", `{"name":"Tote","categories":["Bags"],"variants":[{"sku":"BAG-1","price":80,"currency":"EUR"}]}`},
		{"PUT", "/api/v1/stock/SHOE-42/lyon", `{"on_hand":10}`},
		{"PUT", "/api/v1/stock/BAG-1/lyon", `{"on_hand":10}`},
	} {
		if code, body := h.call(c.method, c.path, c.body); code != 200 {
			t.Fatalf("%s %s: %d %v", c.method, c.path, code, body)
		}
	}
	// Two orders each, an hour apart.
	for i, line := range []struct{ sku, category string }{{"SHOE-42", "Shoes"}, {"BAG-1", "Bags"}} {
		ts := h.clock.Now().Format(time.RFC3339)
		price := []int{120, 80}[i]
		till(fmt.Sprintf(`{"userId":"ana","event":"Order Completed","timestamp":%q,"properties":{"order_id":"T-%d","total":%d,"currency":"EUR",
			"products":[{"sku":%q,"quantity":1,"price":%d,"category":%q}]}}`, ts, i+1, price, line.sku, price, line.category))
		code, o := h.call("POST", "/api/v1/orders", fmt.Sprintf(`{"id":"W-%d","channel":"web","fulfilment":"ship","location_id":"lyon",
			"currency":"EUR","customer":{"user_id":"bea"},"lines":[{"sku":%q,"quantity":1}]}`, i+1, line.sku))
		if code != 201 {
			t.Fatalf("order: %d %v", code, o)
		}
		h.clock.Advance(time.Hour)
	}
	want := `order_count=2 lifetime_value=200 average_order_value=100 last_order_date="2026-11-23T11:00:00Z" days_since_last_purchase=0 ` +
		`top_categories_bought=["bags","shoes"] rfm=null `
	h.waitView(t, "ana", want)
	h.waitView(t, "bea", want)

	// The store's till also rings up Bea's first order: the same order.
	till(fmt.Sprintf(`{"userId":"bea","event":"Order Completed","timestamp":%q,"properties":{"order_id":"W-1","total":120,
		"products":[{"sku":"SHOE-42","quantity":1,"category":"Shoes"}]}}`, h.clock.Now().Format(time.RFC3339)))
	h.outboxDrained()
	h.waitConsumer(commerce.Consumer)
	if got := h.orderView("bea"); got != want {
		t.Fatalf("the till's receipt of a commerce order counted again:\n got  %s\nwant %s", got, want)
	}
	if on := h.onHand("SHOE-42", "lyon"); on != 9 {
		t.Fatalf("the receipt of a commerce order took its stock again: %d on hand, want 9 (Ana bought one at the till; W-1 reserves its own)", on)
	}

	// RFM scores them alike.
	if _, err := h.srv.Unify().ScoreRFM(ctx); err != nil {
		t.Fatal(err)
	}
	if a, b := toJSON(h.computed("ana")["rfm"]), toJSON(h.computed("bea")["rfm"]); a == "null" || a != b {
		t.Fatalf("rfm: ana %s, bea %s", a, b)
	}

	// The bag goes back: refunded in store for Bea through commerce, at
	// the till for Ana.
	for _, to := range []string{"confirmed", "shipped", "delivered"} {
		if code, body := h.call("POST", "/api/v1/orders/W-2/transitions", `{"to":"`+to+`"}`); code != 200 {
			t.Fatalf("W-2 to %s: %d %v", to, code, body)
		}
	}
	if code, body := h.call("POST", "/api/v1/orders/W-2/returns", `{"location_id":"lyon","channel":"store","lines":[{"sku":"BAG-1","quantity":1}]}`); code != 201 {
		t.Fatalf("return: %d %v", code, body)
	}
	till(fmt.Sprintf(`{"userId":"ana","event":"Order Refunded","timestamp":%q,"properties":{"order_id":"T-2","total":80}}`, h.clock.Now().Format(time.RFC3339)))
	want = `order_count=2 lifetime_value=120 average_order_value=60 last_order_date="2026-11-23T11:00:00Z" days_since_last_purchase=0 ` +
		`top_categories_bought=["bags","shoes"] rfm=`
	h.outboxDrained()
	h.waitUnify()
	for _, u := range []string{"ana", "bea"} {
		c := h.computed(u)
		got := h.orderView(u)
		if got != want+toJSON(c["rfm"])+" " {
			t.Fatalf("%s after the refund:\n got  %s\nwant %s…", u, got, want)
		}
	}

	// Replay: the same log applied again from nothing gives the same
	// profiles.
	h.waitUnify()
	live, replayed := replayProfiles(t, h, "ana", "bea")
	for u, want := range live {
		if replayed[u] != want {
			t.Fatalf("%s replayed:\n got  %s\nwant %s", u, replayed[u], want)
		}
	}
}

// replayProfiles applies the harness's whole log to a fresh store, as
// parcours replay does, and returns the users' computed traits (but RFM,
// a scoring of every customer) from the live store and the fresh one.
func replayProfiles(t *testing.T, h *harness, users ...string) (live, replayed map[string]string) {
	t.Helper()
	ctx := context.Background()
	events, err := h.st.ReadAfter(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := unify.NewProcessor(fresh, unify.Options{Clock: h.clock}).Process(ctx, events); err != nil {
		t.Fatal(err)
	}
	view := func(st store.Store, user string) string {
		id := identity.Identifier{Kind: identity.UserID, Value: user}
		holders, err := st.Holders(ctx, []identity.Identifier{id})
		if err != nil || holders[id] == 0 {
			t.Fatalf("no profile for %s: %v", user, err)
		}
		p, err := st.Profile(ctx, holders[id])
		if err != nil {
			t.Fatal(err)
		}
		c := profile.Computed(p, &profile.Env{Now: h.clock.Now()})
		delete(c, "rfm")
		return toJSON(c)
	}
	live, replayed = map[string]string{}, map[string]string{}
	for _, u := range users {
		live[u], replayed[u] = view(h.st, u), view(fresh, u)
	}
	return live, replayed
}

// TestCommerceOrderEndsTheCartJourney: an order placed through
// POST /api/v1/orders ends an abandoned-cart journey (exit_on Order
// Completed, as in examples/journeys/abandoned-cart.yaml) and takes the
// customer out of an "added to cart, no order in 30 days" segment, as a
// till's Order Completed does.
func TestCommerceOrderEndsTheCartJourney(t *testing.T) {
	rec := &journey.Recorder{}
	h := newHarness(t, func(o *server.Options) { o.JourneySender = rec })
	for _, c := range []struct{ method, path, body string }{
		{"PUT", "/api/v1/locations/lyon", `{"name":"Lyon","lat":45.76,"lon":4.86,"time_zone":"Europe/Paris","capabilities":["click_collect"]}`},
		{"PUT", "/api/v1/products/shoe", `{"name":"Trail shoe","variants":[{"sku":"SHOE-42","price":89.9,"currency":"EUR"}]}`},
		{"PUT", "/api/v1/stock/SHOE-42/lyon", `{"on_hand":3}`},
	} {
		if code, body := h.call(c.method, c.path, c.body); code != 200 {
			t.Fatalf("%s %s: %d %v", c.method, c.path, code, body)
		}
	}
	seg := `{"id":"carted-no-order","name":"Added to cart, no order in 30 days","where":{"all":[
		{"performed":{"event":"Product Added","within":"30d"}},{"not":{"performed":{"event":"Order Completed","within":"30d"}}}]}}`
	if code, resp := h.post("/api/v1/segments?wait=true", seg); code != 200 {
		t.Fatalf("segment: %d %v", code, resp)
	}
	cart := `{"id":"abandoned-cart","name":"Abandoned cart","triggers":[{"event":"Product Added"}],"exit_on":[{"event":"Order Completed"}],
		"steps":[{"wait":{"for":"1h"}},{"send":{"channel":"email","template":"offer"}}]}`
	if code, resp := h.post("/api/v1/journeys", cart); code != 200 {
		t.Fatalf("journey: %d %v", code, resp)
	}
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/track", `{"userId":"cleo","event":"Product Added","properties":{"sku":"SHOE-42","price":89.9},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	id := h.profileOf("cleo")
	h.waitEnrolment(id, "active")
	members := func() int {
		_, m := h.api("/api/v1/segments/carted-no-order/members")
		return len(m["members"].([]any))
	}
	waitFor(t, "Cleo in the segment", func() bool { return members() == 1 })

	h.clock.Advance(10 * time.Minute)
	if code, o := h.call("POST", "/api/v1/orders", `{"channel":"web","fulfilment":"click_collect","location_id":"lyon","currency":"EUR",
		"customer":{"user_id":"cleo"},"lines":[{"sku":"SHOE-42","quantity":1,"price":89.9}]}`); code != 201 {
		t.Fatalf("order: %d %v", code, o)
	}
	en := h.waitEnrolment(id, "exited")
	if en.Reason == "" {
		t.Fatalf("exited without a reason: %+v", en)
	}
	waitFor(t, "Cleo out of the segment", func() bool { return members() == 0 })
	h.clock.Advance(2 * time.Hour)
	h.waitConsumer(journey.Consumer)
	if s := rec.Sent(); len(s) != 0 {
		t.Fatalf("the reminder went out after the order: %+v", s)
	}
}
