package clienteling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// fixtureStore is what the fixture writes through: the store's own bulk
// paths (the unify and segment stages' batch writes, the consent ledger,
// tasks) and commerce's rules for carts, orders, returns and stock.
type fixtureStore interface {
	store.Store
}

// fixture fills a store with n customers, the first hot of them with a
// full card (consent, a task, a cart, orders and a return, product views,
// a note), the others with identifiers, traits, two events on their
// timeline, consent and a segment: what 1M profiles look like around the
// few an associate opens.
type fixture struct {
	st  fixtureStore
	com *commerce.Service
	clk *clock.Fake
	n   int
	hot int
}

// Customer i's identifiers.
func phoneOf(i int) string { return fmt.Sprintf("+336%08d", i) }
func emailOf(i int) string { return fmt.Sprintf("c%d@example.fr", i) }
func cardOf(i int) string  { return fmt.Sprintf("LC%09d", i) }
func userOf(i int) string  { return fmt.Sprintf("u%d", i) }

const skus = 200

func skuOf(i int) string { return fmt.Sprintf("SKU-%04d", i%skus) }

var stores = []string{"lyon", "paris", "lille", "nantes"}

func buildFixture(tb testing.TB, st fixtureStore, n, hot int) *fixture {
	tb.Helper()
	ctx := context.Background()
	f := &fixture{st: st, clk: clock.NewFake(t0), n: n, hot: hot}
	f.com = commerce.New(st, commerce.Options{Clock: f.clk})
	var locs []*commerce.Location
	for _, s := range append(stores, "wh") {
		l := &commerce.Location{ID: s, Name: "Store " + s, Kind: commerce.KindStore, TimeZone: "Europe/Paris", Lat: 45.7, Lon: 4.8, Capabilities: []string{commerce.CapReturns, commerce.CapClickCollect}}
		if s == "wh" {
			l.Kind, l.Name, l.Capabilities = commerce.KindWarehouse, "Warehouse", nil
		}
		locs = append(locs, l)
	}
	must(tb, f.com.UpsertLocations(ctx, locs))
	var ps []*commerce.Product
	var levels []commerce.StockLevel
	for i := range skus {
		ps = append(ps, &commerce.Product{ID: fmt.Sprintf("P%04d", i), Name: fmt.Sprintf("Sneaker %d", i), Categories: []string{"Shoes"},
			Variants: []commerce.Variant{{SKU: skuOf(i), Price: 89, Currency: "EUR"}}})
		for j, l := range locs {
			levels = append(levels, commerce.StockLevel{SKU: skuOf(i), Location: l.ID, OnHand: int64(1000 + (i+j)%7)})
		}
	}
	must(tb, f.com.UpsertProducts(ctx, ps))
	_, err := f.com.SetStock(ctx, levels)
	must(tb, err)

	const batch = 5000
	for from := 0; from < n; from += batch {
		f.profiles(tb, from, min(from+batch, n))
	}
	for i := range hot {
		f.hotCustomer(tb, i)
	}
	return f
}

// profiles writes customers [from, to): their events, profiles, links,
// timelines, segment states and consent, in a few batch writes.
func (f *fixture) profiles(tb testing.TB, from, to int) {
	ctx := context.Background()
	var evs []*event.Event
	for i := from; i < to; i++ {
		at := t0.Add(-time.Duration(i%1000) * time.Hour)
		traits, _ := json.Marshal(map[string]any{"email": emailOf(i), "phone": phoneOf(i), "loyaltyId": cardOf(i),
			"first_name": "Client", "last_name": fmt.Sprint(i), "shoe_size": 36 + i%10})
		props, _ := json.Marshal(map[string]any{"sku": skuOf(i), "product_id": fmt.Sprintf("P%04d", i%skus), "name": fmt.Sprintf("Sneaker %d", i%skus), "price": 89, "category": "Shoes"})
		evs = append(evs,
			&event.Event{MessageID: fmt.Sprintf("id-%d", i), Type: event.Identify, UserID: userOf(i), Traits: traits, Timestamp: at, ReceivedAt: at, SourceID: "src_web", Channel: "web"},
			&event.Event{MessageID: fmt.Sprintf("pv-%d", i), Type: event.Track, Event: "Product Viewed", UserID: userOf(i), Properties: props, Timestamp: at.Add(time.Minute), ReceivedAt: at, SourceID: "src_web", Channel: "web"})
	}
	must(tb, f.st.Append(ctx, evs, nil))
	b := &store.UnifyBatch{Consumer: "fixture"}
	sb := &store.SegmentBatch{States: map[int64][]byte{}, At: t0}
	var consents []*store.ConsentRecord
	for k := 0; k < len(evs); k += 2 {
		i := from + k/2
		id := int64(i + 1)
		p := profile.New(id)
		p.Identifiers = []identity.Identifier{{Kind: identity.UserID, Value: userOf(i)}, {Kind: identity.Email, Value: emailOf(i)},
			{Kind: identity.Phone, Value: phoneOf(i)}, {Kind: identity.LoyaltyID, Value: cardOf(i)}}
		p.Apply(evs[k])
		p.Apply(evs[k+1])
		p.Agg.Stores = profile.Counts{stores[i%len(stores)]: 1}
		b.Profiles = append(b.Profiles, p)
		for _, x := range p.Identifiers {
			b.Links = append(b.Links, store.Link{Identifier: x, Profile: id})
		}
		b.Timeline = append(b.Timeline, store.TimelineEntry{Profile: id, Seq: evs[k].Seq, At: evs[k].Timestamp},
			store.TimelineEntry{Profile: id, Seq: evs[k+1].Seq, At: evs[k+1].Timestamp})
		sb.States[id] = []byte(fmt.Sprintf(`{"m":{"shoe_lovers":"%s"}}`, t0.Format(time.RFC3339)))
		consents = append(consents, &store.ConsentRecord{Key: fmt.Sprintf("c-%d", i), ProfileID: id, Channel: "email", Granted: i%3 != 0, Source: "web", At: t0})
	}
	must(tb, f.st.ApplyUnify(ctx, b))
	must(tb, f.st.ApplySegments(ctx, sb))
	_, err := f.st.RecordConsents(ctx, consents)
	must(tb, err)
}

// hotCustomer gives customer i a full card: a cart, a delivered order with
// a return, a placed click & collect order, an open task, more views.
func (f *fixture) hotCustomer(tb testing.TB, i int) {
	ctx := context.Background()
	id := int64(i + 1)
	key := "user_id:" + userOf(i)
	_, err := f.com.SetCart(ctx, key, []commerce.CartItem{{SKU: skuOf(i + 1), Quantity: 1, Price: 89}, {SKU: skuOf(i + 2), Quantity: 2, Price: 89}}, "EUR", "web", 0)
	must(tb, err)
	shipped, err := f.com.PlaceOrder(ctx, &commerce.Order{Channel: "web", Fulfilment: commerce.Ship, Location: "wh", Customer: commerce.Customer{UserID: userOf(i)},
		Lines: []commerce.Line{{SKU: skuOf(i + 3), Price: 89, Quantity: 2}}, Currency: "EUR"})
	must(tb, err)
	for _, to := range []commerce.Status{commerce.Confirmed, commerce.Shipped, commerce.Delivered} {
		_, err = f.com.Transition(ctx, shipped.ID, to, "")
		must(tb, err)
	}
	_, err = f.com.RecordReturn(ctx, &commerce.Return{OrderID: shipped.ID, Location: stores[i%len(stores)], Channel: "store",
		Lines: []commerce.ReturnLine{{SKU: skuOf(i + 3), Quantity: 1}}, Resolution: "refund"})
	must(tb, err)
	_, err = f.com.PlaceOrder(ctx, &commerce.Order{Channel: "web", Fulfilment: commerce.ClickCollect, Location: stores[i%len(stores)],
		Customer: commerce.Customer{Email: emailOf(i)}, Lines: []commerce.Line{{SKU: skuOf(i + 4), Price: 89, Quantity: 1}}, Currency: "EUR"})
	must(tb, err)
	_, err = f.st.CreateTask(ctx, &store.Task{Key: fmt.Sprintf("task-%d", i), StoreID: stores[i%len(stores)], ProfileID: id, Title: "VIP nearby",
		Status: store.TaskOpen, CreatedAt: t0})
	must(tb, err)
	var evs []*event.Event
	for v := range 8 {
		props, _ := json.Marshal(map[string]any{"sku": skuOf(i + 10 + v), "name": fmt.Sprintf("Sneaker %d", (i+10+v)%skus), "price": 99})
		at := t0.Add(time.Duration(v) * time.Minute)
		evs = append(evs, &event.Event{MessageID: fmt.Sprintf("hot-pv-%d-%d", i, v), Type: event.Track, Event: "Product Viewed", UserID: userOf(i),
			Properties: props, Timestamp: at, ReceivedAt: at, SourceID: "src_web", Channel: "web"})
	}
	must(tb, f.st.Append(ctx, evs, nil))
	b := &store.UnifyBatch{Consumer: "fixture"}
	for _, e := range evs {
		b.Timeline = append(b.Timeline, store.TimelineEntry{Profile: id, Seq: e.Seq, At: e.Timestamp})
	}
	must(tb, f.st.ApplyUnify(ctx, b))
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
