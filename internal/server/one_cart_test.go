package server_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/source"
)

// cartOf reads a list of cart items (the API's or a profile's) as
// "SKU×quantity" in SKU order.
func cartOf(items any) string {
	list, _ := items.([]any)
	var out []string
	for _, it := range list {
		m := it.(map[string]any)
		out = append(out, fmt.Sprintf("%s×%v", m["sku"], m["quantity"]))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// TestOneCart: Sara puts shoes in her cart on the web before logging in,
// a bag from the app, a store associate changes the cart through the API
// (two pairs), then she adds socks from the app. The cart API (by her
// user id, by the anonymous id of her browser, by her profile id), her
// profile's current cart and the task the store's staff get all show the
// same cart; her order empties it everywhere.
func TestOneCart(t *testing.T) {
	rec := &journey.Recorder{}
	h := newHarness(t, func(o *server.Options) {
		o.JourneySender = rec
		o.Stores = []place.Location{{ID: "lyon", Name: "Lyon Bellecour", Lat: 45.7578, Lon: 4.8320}}
	})
	ctx := context.Background()
	app, _ := source.New("App", "ios", "", now)
	if err := h.st.CreateSource(ctx, app); err != nil {
		t.Fatal(err)
	}
	send := func(src *source.Source, path, body string) {
		t.Helper()
		body = strings.Replace(body, "{", `{"timestamp":"`+h.clock.Now().Format(time.RFC3339Nano)+`",`, 1)
		code, _, resp := h.do("POST", path, []byte(body), map[string]string{"Authorization": basic(src.WriteKey + ":")})
		if code != 200 {
			t.Fatalf("%s %s: %d %v", src.Channel, path, code, resp)
		}
		h.clock.Advance(time.Minute)
	}
	vip := `{"id":"vip","name":"VIP near","triggers":[{"event":"Location Updated","near":{"km":0.5}}],
		"steps":[{"task":{"store":"nearest","title":"Sara is near"}}]}`
	if code, resp := h.post("/api/v1/journeys", vip); code != 200 {
		t.Fatalf("journey: %d %v", code, resp)
	}

	send(h.src, "/v1/track", `{"anonymousId":"a1","event":"Product Added","properties":{"sku":"SHOE-42","price":89.9}}`)
	send(h.src, "/v1/identify", `{"anonymousId":"a1","userId":"sara"}`)
	send(app, "/v1/track", `{"userId":"sara","event":"Product Added","properties":{"sku":"BAG-1","quantity":2,"price":40}}`)
	id := h.profileOf("sara")
	waitFor(t, "the web and app adds in the cart", func() bool {
		_, c := h.call("GET", "/api/v1/carts/user_id:sara", "")
		return cartOf(c["items"]) == "BAG-1×2 SHOE-42×1"
	})

	// The associate loads the cart by profile id and makes it two pairs.
	_, c := h.call("GET", fmt.Sprint("/api/v1/carts/", id), "")
	body := fmt.Sprintf(`{"channel":"store","version":%v,"items":[{"sku":"SHOE-42","quantity":2,"price":89.9},{"sku":"BAG-1","quantity":2,"price":40}]}`, c["version"])
	if code, resp := h.call("PUT", fmt.Sprint("/api/v1/carts/", id), body); code != 200 || resp["customer"] != "user_id:sara" {
		t.Fatalf("associate's save: %d %v", code, resp)
	}
	h.clock.Advance(time.Minute)
	send(app, "/v1/track", `{"userId":"sara","event":"Product Added","properties":{"sku":"SOCK","price":5}}`)

	const want = "BAG-1×2 SHOE-42×2 SOCK×1"
	views := func() map[string]string {
		v := map[string]string{}
		for _, k := range []string{"user_id:sara", "anonymous_id:a1", fmt.Sprint(id)} {
			_, c := h.call("GET", "/api/v1/carts/"+k, "")
			v["/api/v1/carts/"+k] = cartOf(c["items"])
		}
		v["profile current_cart"] = cartOf(h.computed("sara")["current_cart"])
		return v
	}
	agree := func(want string) func() bool {
		return func() bool {
			for _, got := range views() {
				if got != want {
					return false
				}
			}
			return true
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for !agree(want)() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !agree(want)() {
		t.Fatalf("the carts disagree, want %s everywhere: %v", want, views())
	}

	// Sara walks by the store: the staff's task shows the same cart.
	send(app, "/v1/track", `{"userId":"sara","event":"Location Updated","properties":{"latitude":45.7582,"longitude":4.8325}}`)
	var tasks []any
	waitFor(t, "the task", func() bool {
		_, resp := h.api("/api/v1/tasks?store_id=lyon&status=open")
		tasks, _ = resp["tasks"].([]any)
		return len(tasks) == 1
	})
	if got := cartOf(tasks[0].(map[string]any)["detail"].(map[string]any)["cart"]); got != want {
		t.Fatalf("the task's cart is %q, want %q", got, want)
	}

	// She buys on the web: the cart is empty everywhere.
	send(h.src, "/v1/track", `{"userId":"sara","event":"Order Completed","properties":{"order_id":"S-1","total":264.8}}`)
	deadline = time.Now().Add(10 * time.Second)
	for !agree("")() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !agree("")() {
		t.Fatalf("the carts after the order: %v", views())
	}
}
