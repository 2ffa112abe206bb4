package profile

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
)

func track(name, id string, at time.Time, props string) *event.Event {
	return &event.Event{Type: event.Track, Event: name, Channel: "web", SourceID: "src", MessageID: id, Timestamp: at, Properties: json.RawMessage(props)}
}

func orderTraits(p *Profile) string {
	c := Computed(p, &Env{Now: t0.Add(30 * 24 * time.Hour)})
	return fmt.Sprintf("orders=%v ltv=%v avg=%v last=%v bought=%v", c["order_count"], c["lifetime_value"], c["average_order_value"],
		c["last_order_date"], c["top_categories_bought"])
}

// TestOneOrderCountsOnce: a till's Order Completed and commerce's for the
// same order_id are one order, in either order and across a merge; a
// refund (by its spec name or commerce's former one) lowers lifetime value
// but not the order count; a cancelled order does not count at all.
func TestOneOrderCountsOnce(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	till := track("Order Completed", "till-1", h(1), `{"order_id":"W-1","total":100,"products":[{"category":"Shoes"}]}`)
	com := track("Order Completed", "commerce-order-W-1-completed", h(0), `{"order_id":"W-1","total":100,"products":[{"category":"shoes"}]}`)
	other := track("Order Completed", "till-2", h(2), `{"order_id":"T-2","total":50}`)
	want := `orders=2 ltv=150 avg=75 last=2026-11-01 12:00:00 +0000 UTC bought=[shoes]`
	for _, evs := range [][]*event.Event{{till, com, other}, {com, other, till}, {other, till, com}} {
		if got := orderTraits(build(evs)); got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	}
	a, b := build([]*event.Event{till}), build([]*event.Event{com, other})
	a.Merge(b)
	if got := orderTraits(a); got != want {
		t.Fatalf("merged: got %s\nwant %s", got, want)
	}

	cases := []struct {
		name string
		more []*event.Event
		want string
	}{
		{"partial refund", []*event.Event{track("Order Refunded", "r1", h(5), `{"order_id":"W-1","total":30}`)},
			`orders=2 ltv=120 avg=60 last=2026-11-01 12:00:00 +0000 UTC bought=[shoes]`},
		{"commerce's former refund name", []*event.Event{track("Refund Issued", "commerce-refund-ret_1", h(5), `{"order_id":"W-1","total":30}`)},
			`orders=2 ltv=120 avg=60 last=2026-11-01 12:00:00 +0000 UTC bought=[shoes]`},
		{"full refund, no amount", []*event.Event{track("Order Refunded", "r1", h(5), `{"order_id":"W-1"}`)},
			`orders=2 ltv=50 avg=25 last=2026-11-01 12:00:00 +0000 UTC bought=[shoes]`},
		{"refunds never take more than the order", []*event.Event{track("Order Refunded", "r1", h(5), `{"order_id":"T-2","total":50}`),
			track("Order Refunded", "r2", h(6), `{"order_id":"T-2","total":50}`)},
			`orders=2 ltv=100 avg=50 last=2026-11-01 12:00:00 +0000 UTC bought=[shoes]`},
		{"refund of products", []*event.Event{track("Order Refunded", "r1", h(5), `{"order_id":"W-1","products":[{"price":20,"quantity":2}]}`)},
			`orders=2 ltv=110 avg=55 last=2026-11-01 12:00:00 +0000 UTC bought=[shoes]`},
		{"refund naming no order", []*event.Event{track("Order Refunded", "r1", h(5), `{"total":10}`)},
			`orders=2 ltv=140 avg=70 last=2026-11-01 12:00:00 +0000 UTC bought=[shoes]`},
		{"cancelled", []*event.Event{track("Order Cancelled", "c1", h(5), `{"order_id":"T-2"}`)},
			`orders=1 ltv=100 avg=100 last=2026-11-01 10:00:00 +0000 UTC bought=[shoes]`},
		{"cancelled before it arrives", []*event.Event{track("Order Cancelled", "c1", h(-5), `{"order_id":"W-1"}`)},
			`orders=1 ltv=50 avg=50 last=2026-11-01 12:00:00 +0000 UTC bought=[]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := append([]*event.Event{till, com, other}, c.more...)
			if got := orderTraits(build(evs)); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
			// The refund or cancellation first: the same profile.
			if got := orderTraits(build(append(c.more, till, com, other))); got != c.want {
				t.Fatalf("refund first: got %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestStoredProfileKeepsItsOrders: a profile stored before orders were
// kept by id keeps its totals, and new orders add to them.
func TestStoredProfileKeepsItsOrders(t *testing.T) {
	old := `{"id":7,"identifiers":[],"merges":0,"traits":{},"aggregates":{"orders":2,"revenue_cents":15000,` +
		`"last_order_at":"2026-10-01T10:00:00Z","bought":{"category:shoes":2},"cart":[{"sku":"A","quantity":1,"at":"2026-09-01T10:00:00Z","key":"x"}]}}`
	p, err := Unmarshal([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := orderTraits(p), `orders=2 ltv=150 avg=75 last=2026-10-01 10:00:00 +0000 UTC bought=[shoes]`; got != want {
		t.Fatalf("as stored: %s\nwant %s", got, want)
	}
	if c := Computed(p, &Env{}); fmt.Sprint(c["current_cart"]) != "[]" {
		t.Fatalf("a line from before the last order is in the cart: %v", c["current_cart"])
	}
	p.Apply(track("Order Completed", "m", t0, `{"order_id":"N-1","total":50,"products":[{"category":"bags"}]}`))
	if got, want := orderTraits(p), `orders=3 ltv=200 avg=66.67 last=2026-11-01 10:00:00 +0000 UTC bought=[shoes bags]`; got != want {
		t.Fatalf("after a new order: %s\nwant %s", got, want)
	}
}

// TestManyOrdersFold: past the orders kept one by one, the oldest fold
// into totals and the traits stay right.
func TestManyOrdersFold(t *testing.T) {
	p := New(1)
	for i := range maxOrders + 20 {
		p.Apply(track("Order Completed", fmt.Sprint("m", i), t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf(`{"order_id":"O-%d","total":10}`, i)))
	}
	if len(p.Agg.Book.ByID) != maxOrders || p.Agg.Book.Folded.Orders != 20 {
		t.Fatalf("kept %d, folded %d", len(p.Agg.Book.ByID), p.Agg.Book.Folded.Orders)
	}
	if p.Agg.Orders != maxOrders+20 || p.Agg.Revenue != int64(maxOrders+20)*1000 {
		t.Fatalf("orders %d revenue %d", p.Agg.Orders, p.Agg.Revenue)
	}
}

// TestCommerceCartIsTheCart: once commerce announces the cart, the latest
// Cart Updated by event time is the current cart, and tracked adds no
// longer count on their own (commerce applies them and announces the
// result); an order empties what was in it before.
func TestCommerceCartIsTheCart(t *testing.T) {
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	snap := func(id string, at time.Time, props string) *event.Event {
		e := track("Cart Updated", id, at, props)
		e.SourceID, e.Channel = ParcoursSource, CommerceChannel
		return e
	}
	added := track("Product Added", "a1", h(1), `{"sku":"SHOE","price":80}`)
	first := snap("c1", h(1), `{"products":[{"sku":"SHOE","price":80,"quantity":1,"updated_at":"2026-11-01T11:00:00Z"}]}`)
	second := snap("c2", h(2), `{"products":[{"sku":"SHOE","price":80,"quantity":1,"updated_at":"2026-11-01T11:00:00Z"},`+
		`{"sku":"BAG","price":40,"quantity":2,"updated_at":"2026-11-01T12:00:00Z"}]}`)
	mine := track("Cart Updated", "client", h(3), `{"products":[]}`) // a client's own event: not the cart
	late := track("Product Added", "a2", h(2), `{"sku":"SOCK"}`)
	want := `[{"sku":"BAG","price":40,"quantity":2},{"sku":"SHOE","price":80,"quantity":1}]`
	for _, evs := range [][]*event.Event{{added, first, second, mine, late}, {late, second, mine, first, added}} {
		p := build(evs)
		b, _ := json.Marshal(Computed(p, &Env{})["current_cart"])
		if string(b) != want {
			t.Fatalf("cart %s, want %s", b, want)
		}
		// Commerce's own cart events are not the customer's activity.
		if p.Agg.Channels[CommerceChannel] != 0 || !p.Agg.LastSeen.Equal(h(3)) {
			t.Fatalf("channels %v last seen %v", p.Agg.Channels, p.Agg.LastSeen)
		}
	}
	// An order after the shoes were put in the cart, before the bag.
	p := build([]*event.Event{first, second, track("Order Completed", "o", h(1).Add(30*time.Minute), `{"order_id":"X","total":80}`)})
	b, _ := json.Marshal(Computed(p, &Env{})["current_cart"])
	if string(b) != `[{"sku":"BAG","price":40,"quantity":2}]` {
		t.Fatalf("cart after the order: %s", b)
	}
}
