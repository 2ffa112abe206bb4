package commerce_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// sink records the events the service emits. Reading it first delivers
// the outbox (flush), as the server's relay would.
type sink struct {
	mu     sync.Mutex
	events []*event.Event
	flush  func()
}

func (s *sink) Submit(_ context.Context, evs []*event.Event, _ []*event.Rejection) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, evs...)
	return nil
}

func (s *sink) names() []string {
	s.flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		out = append(out, e.Event)
	}
	return out
}

func (s *sink) find(name string) *event.Event {
	s.flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if e.Event == name {
			return e
		}
	}
	return nil
}

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func newService(t *testing.T) (*commerce.Service, *sink, *clock.Fake) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sk, clk := &sink{}, clock.NewFake(t0)
	svc := commerce.New(st, commerce.Options{Clock: clk, Sink: sk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	sk.flush = func() {
		if _, err := svc.Deliver(ctx); err != nil {
			t.Errorf("delivering the outbox: %v", err)
		}
	}
	if err := svc.UpsertProducts(ctx, []*commerce.Product{{ID: "shoe", Name: "Trail shoe", Categories: []string{"Shoes"},
		Variants: []commerce.Variant{{SKU: "SHOE-42", Price: 89.9, Currency: "eur"}}}}); err != nil {
		t.Fatal(err)
	}
	locs := []*commerce.Location{
		{ID: "lyon", Name: "Lyon", Lat: 45.76, Lon: 4.83, TimeZone: "Europe/Paris", Capabilities: []string{commerce.CapClickCollect, commerce.CapReturns}},
		{ID: "paris", Name: "Paris", Lat: 48.85, Lon: 2.35, TimeZone: "Europe/Paris", Capabilities: []string{commerce.CapReturns}},
	}
	if err := svc.UpsertLocations(ctx, locs); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStock(ctx, []commerce.StockLevel{{SKU: "SHOE-42", Location: "lyon", OnHand: 5}}); err != nil {
		t.Fatal(err)
	}
	return svc, sk, clk
}

func TestClickAndCollectThenReturnElsewhere(t *testing.T) {
	svc, sk, clk := newService(t)
	ctx := context.Background()
	o, err := svc.PlaceOrder(ctx, &commerce.Order{Channel: "web", Fulfilment: commerce.ClickCollect, Location: "lyon", Currency: "EUR",
		Customer: commerce.Customer{UserID: "sophie", Email: "sophie@example.fr"}, Lines: []commerce.Line{{SKU: "SHOE-42", Quantity: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if o.Lines[0].Price != 89.9 || o.Lines[0].Name != "Trail shoe" || o.Total != 179.8 {
		t.Fatalf("order not filled from the catalog: %+v", o)
	}
	placed := sk.find("Order Placed")
	var props struct {
		OrderID  string           `json:"order_id"`
		StoreID  string           `json:"store_id"`
		Products []map[string]any `json:"products"`
	}
	if placed == nil || placed.UserID != "sophie" || json.Unmarshal(placed.Properties, &props) != nil || props.OrderID != o.ID ||
		props.StoreID != "lyon" || props.Products[0]["sku"] != "SHOE-42" || placed.MessageID != "commerce-order-"+o.ID+"-placed" {
		t.Fatalf("Order Placed = %+v", placed)
	}
	if _, err := svc.Transition(ctx, o.ID, commerce.Shipped, ""); err == nil {
		t.Fatal("a click & collect order was shipped")
	} else if te := (*commerce.TransitionError)(nil); !errors.As(err, &te) {
		t.Fatalf("want a *TransitionError, got %v", err)
	}
	for _, to := range []commerce.Status{commerce.Confirmed, commerce.Picking, commerce.ReadyForPickup, commerce.Collected} {
		clk.Advance(time.Hour)
		if o, err = svc.Transition(ctx, o.ID, to, ""); err != nil {
			t.Fatalf("→ %s: %v", to, err)
		}
	}
	if len(o.History) != 5 || o.Version != 5 {
		t.Fatalf("history %+v", o.History)
	}
	rows, _ := svc.Store().StockOf(ctx, "SHOE-42")
	if rows[0].OnHand != 3 || rows[0].Reserved != 0 {
		t.Fatalf("after collection: %+v", rows[0])
	}
	// Returned in Paris, where the SKU was never stocked: back in stock there.
	r, err := svc.RecordReturn(ctx, &commerce.Return{OrderID: o.ID, Location: "paris", Lines: []commerce.ReturnLine{{SKU: "SHOE-42", Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Refunded != 89.9 || r.Resolution != commerce.Refund {
		t.Fatalf("return %+v", r)
	}
	back := sk.find(commerce.EventBackInStock)
	if back == nil || !json.Valid(back.Properties) || string(back.Properties) == "" {
		t.Fatalf("no Back In Stock: %v", sk.names())
	}
	if sk.find(commerce.EventOrderRefunded) == nil || sk.find("Order Ready For Pickup") == nil {
		t.Fatalf("events %v", sk.names())
	}
	if _, err := svc.RecordReturn(ctx, &commerce.Return{OrderID: o.ID, Location: "paris", Lines: []commerce.ReturnLine{{SKU: "SHOE-42", Quantity: 2}}}); err == nil {
		t.Fatal("returned more than was bought")
	}
}

func TestReservationExpiry(t *testing.T) {
	svc, sk, clk := newService(t)
	ctx := context.Background()
	r, err := svc.Reserve(ctx, commerce.ReserveRequest{SKU: "SHOE-42", Location: "lyon", Quantity: 5, Customer: commerce.Customer{AnonymousID: "a1"}, TTL: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reserve(ctx, commerce.ReserveRequest{SKU: "SHOE-42", Location: "lyon", Quantity: 1}); err == nil {
		t.Fatal("reserved past the stock")
	}
	clk.Advance(time.Hour)
	if n, err := svc.ExpireDue(ctx); err != nil || n != 0 {
		t.Fatalf("expired early: %d, %v", n, err)
	}
	clk.Advance(time.Hour)
	if n, err := svc.ExpireDue(ctx); err != nil || n != 1 {
		t.Fatalf("ExpireDue = %d, %v", n, err)
	}
	got, _ := svc.Store().Reservation(ctx, r.ID)
	if got.Status != commerce.ReservationExpired {
		t.Fatalf("reservation %+v", got)
	}
	if sk.find(commerce.EventReservationExpired) == nil || sk.find(commerce.EventBackInStock) == nil || sk.find(commerce.EventLowStock) == nil {
		t.Fatalf("events %v", sk.names())
	}
}
