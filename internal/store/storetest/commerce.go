package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store"
)

// commerceStore is an engine with the commerce rules over its rows, as
// the service writes through them: the engine's reads, Writes' writes.
type commerceStore struct {
	store.Store
	commerce.Writes
}

// runCommerce runs the tests of store.Commerce.
func runCommerce(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, commerceStore)
	}{
		{"Catalog", testCatalog},
		{"StockSetAndAdjust", testStockSetAndAdjust},
		{"ReserveAllOrNothing", testReserveAllOrNothing},
		{"ConcurrentReservationsNeverOversell", testConcurrentReservations},
		{"MultiLineOrdersDoNotDeadlock", testMultiLineOrders},
		{"OrderEffectsAndReturns", testOrderEffectsAndReturns},
		{"ExpireReservations", testExpireReservations},
		{"Carts", testCarts},
		{"SaveCarts", testSaveCarts},
		{"OutboxCommitsWithChange", testOutboxCommitsWithChange},
		{"OutboxReadAndDelete", testOutboxReadAndDelete},
		{"OutboxConcurrentReservations", testOutboxConcurrentReservations},
		{"ServiceRefusesUnknownRefs", testServiceRefusesUnknownRefs},
		{"ServiceIgnoresUnknownRows", testServiceIgnoresUnknownRows},
		{"StockNeverWrapsAround", testStockNeverWrapsAround},
		{"ReservationKeys", testReservationKeys},
		{"OrderAndReturnKeys", testOrderAndReturnKeys},
		{"AdjustmentKeys", testAdjustmentKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			tc.fn(t, commerceStore{st, commerce.Writes{Store: st}})
		})
	}
}

func product(id string, skus ...string) *commerce.Product {
	p := &commerce.Product{ID: id, Name: "Product " + id, Categories: []string{"Shoes"}, UpdatedAt: t0}
	for _, s := range skus {
		p.Variants = append(p.Variants, commerce.Variant{SKU: s, Price: 89.9, Currency: "EUR"})
	}
	return p
}

func setStock(t *testing.T, s commerceStore, sku, loc string, onHand, safety int64) {
	t.Helper()
	if _, err := s.SetStock(context.Background(), []commerce.StockLevel{{SKU: sku, Location: loc, OnHand: onHand, Safety: safety}}, t0, nil); err != nil {
		t.Fatal(err)
	}
}

func level(t *testing.T, s commerceStore, sku, loc string) commerce.StockLevel {
	t.Helper()
	rows, err := s.StockOf(context.Background(), sku)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Location == loc {
			return r
		}
	}
	t.Fatalf("no stock row %s@%s", sku, loc)
	return commerce.StockLevel{}
}

func testCatalog(t *testing.T, s commerceStore) {
	ctx := context.Background()
	if err := s.UpsertProducts(ctx, []*commerce.Product{product("p1", "A-1", "A-2"), product("p2", "B-1")}); err != nil {
		t.Fatal(err)
	}
	// Re-upserting p1 without A-2 un-indexes A-2; given twice in a batch,
	// the last version wins.
	if err := s.UpsertProducts(ctx, []*commerce.Product{product("p1", "A-1", "A-2"), product("p1", "A-1")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ProductsBySKU(ctx, []string{"A-1", "A-2", "B-1"})
	if err != nil || len(got) != 2 || got["A-1"].ID != "p1" || got["B-1"].ID != "p2" {
		t.Fatalf("ProductsBySKU = %v, %v", got, err)
	}
	if p, err := s.Product(ctx, "p1"); err != nil || len(p.Variants) != 1 || !p.UpdatedAt.Equal(t0) {
		t.Fatalf("Product = %+v, %v", p, err)
	}
	if _, err := s.Product(ctx, "nope"); !errors.Is(err, store.ErrNotFound) || !errors.Is(err, commerce.ErrNotFound) {
		t.Fatalf("unknown product: %v", err)
	}
	page, err := s.ListProducts(ctx, "p1", 10)
	if err != nil || len(page) != 1 || page[0].ID != "p2" {
		t.Fatalf("ListProducts after p1 = %v, %v", page, err)
	}
	loc := &commerce.Location{ID: "lyon", Name: "Lyon", Kind: "store", Lat: 45.76, Lon: 4.83, TimeZone: "Europe/Paris",
		OpeningHours: map[string][]string{"mon": {"10:00-19:00"}}, Capabilities: []string{commerce.CapClickCollect}}
	if err := s.UpsertLocations(ctx, []*commerce.Location{loc}); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Location(ctx, "lyon"); err != nil || l.Lat != 45.76 || !l.Can(commerce.CapClickCollect) || l.OpeningHours["mon"][0] != "10:00-19:00" {
		t.Fatalf("Location = %+v, %v", l, err)
	}
	if ls, err := s.ListLocations(ctx, "", 10); err != nil || len(ls) != 1 {
		t.Fatalf("ListLocations = %v, %v", ls, err)
	}
}

func testStockSetAndAdjust(t *testing.T, s commerceStore) {
	ctx := context.Background()
	setStock(t, s, "A-1", "lyon", 10, 2)
	if l := level(t, s, "A-1", "lyon"); l.OnHand != 10 || l.Safety != 2 || l.Available() != 8 || l.Version != 1 {
		t.Fatalf("after SetStock: %+v", l)
	}
	adj := commerce.Adjustment{Key: "k1", Reason: "count", At: t0, Deltas: []commerce.Delta{{SKU: "A-1", Location: "lyon", OnHand: -4}, {SKU: "A-1", Location: "paris", OnHand: 3}}}
	ch, applied, err := s.AdjustStock(ctx, adj, nil)
	if err != nil || !applied || len(ch) != 2 || ch[0].Before.OnHand != 10 || ch[0].After.OnHand != 6 || ch[1].After.OnHand != 3 {
		t.Fatalf("AdjustStock = %+v, %v, %v", ch, applied, err)
	}
	if _, applied, err := s.AdjustStock(ctx, adj, nil); err != nil || applied {
		t.Fatalf("the same key applied twice: %v, %v", applied, err)
	}
	if l := level(t, s, "A-1", "lyon"); l.OnHand != 6 {
		t.Fatalf("on hand %d after a replayed adjustment, want 6", l.OnHand)
	}
	// Stock never goes negative: refused with a typed error, nothing changed.
	_, _, err = s.AdjustStock(ctx, commerce.Adjustment{Key: "k2", At: t0, Deltas: []commerce.Delta{{SKU: "A-1", Location: "paris", OnHand: 1}, {SKU: "A-1", Location: "lyon", OnHand: -7}}}, nil)
	var ce *commerce.StockConstraintError
	if !errors.As(err, &ce) || ce.Location != "lyon" {
		t.Fatalf("negative stock: got %v, want *StockConstraintError", err)
	}
	if l := level(t, s, "A-1", "paris"); l.OnHand != 3 {
		t.Fatalf("a refused adjustment changed paris: %+v", l)
	}
	// A till sale of more than the free stock stops at what is reserved.
	res := &commerce.Reservation{ID: "r1", SKU: "A-1", Location: "lyon", Quantity: 2, CreatedAt: t0, Customer: commerce.Customer{UserID: "u"}}
	if _, err := s.Reserve(ctx, []*commerce.Reservation{res}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AdjustStock(ctx, commerce.Adjustment{Key: "pos-1", Clamp: true, At: t0, Deltas: []commerce.Delta{{SKU: "A-1", Location: "lyon", OnHand: -10}}}, nil); err != nil {
		t.Fatal(err)
	}
	if l := level(t, s, "A-1", "lyon"); l.OnHand != 2 || l.Reserved != 2 {
		t.Fatalf("clamped sale: %+v, want on hand 2 = reserved", l)
	}
	if _, err := s.SetStock(ctx, []commerce.StockLevel{{SKU: "A-1", Location: "lyon", OnHand: 1}}, t0, nil); !errors.As(err, &ce) {
		t.Fatalf("SetStock below reservations: %v", err)
	}
}

func testReserveAllOrNothing(t *testing.T, s commerceStore) {
	ctx := context.Background()
	setStock(t, s, "A", "lyon", 5, 1)
	setStock(t, s, "B", "lyon", 1, 0)
	rs := []*commerce.Reservation{
		{ID: "r1", SKU: "B", Location: "lyon", Quantity: 2, CreatedAt: t0},
		{ID: "r2", SKU: "A", Location: "lyon", Quantity: 3, CreatedAt: t0},
	}
	_, err := s.Reserve(ctx, rs, nil)
	var ie *commerce.InsufficientStockError
	if !errors.As(err, &ie) || ie.SKU != "B" || ie.Available != 1 || ie.Requested != 2 {
		t.Fatalf("Reserve = %v, want InsufficientStockError on B with 1 available", err)
	}
	if l := level(t, s, "A", "lyon"); l.Reserved != 0 {
		t.Fatalf("a failed multi-line reservation held A: %+v", l)
	}
	if _, err := s.Reservation(ctx, "r2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reservation r2 exists after a failed Reserve: %v", err)
	}
	_, err = s.Reserve(ctx, []*commerce.Reservation{{ID: "r3", SKU: "C", Location: "lyon", Quantity: 1, CreatedAt: t0}}, nil)
	if !errors.As(err, &ie) || ie.Available != -1 {
		t.Fatalf("unstocked SKU: %v", err)
	}
	rs[0].Quantity = 1
	ch, err := s.Reserve(ctx, rs, nil)
	if err != nil || len(ch) != 2 || ch[0].After.SKU != "A" || ch[0].After.Available() != 1 || ch[1].After.Available() != 0 {
		t.Fatalf("Reserve = %+v, %v", ch, err)
	}
	r, ch2, err := s.EndReservation(ctx, "r1", commerce.ReservationReleased, t0.Add(time.Minute), nil)
	if err != nil || r.Status != commerce.ReservationReleased || ch2[0].After.Available() != 1 {
		t.Fatalf("EndReservation = %+v, %+v, %v", r, ch2, err)
	}
	if _, _, err := s.EndReservation(ctx, "r1", commerce.ReservationReleased, t0, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("ending twice: %v", err)
	}
	if list, err := s.ListReservations(ctx, commerce.ReservationQuery{Status: commerce.ReservationActive}); err != nil || len(list) != 1 || list[0].ID != "r2" {
		t.Fatalf("ListReservations = %v, %v", list, err)
	}
}

// testConcurrentReservations fires 200 concurrent reservations of one unit
// at 50 available: exactly 50 must succeed and the row must end at 0.
func testConcurrentReservations(t *testing.T, s commerceStore) {
	ctx := context.Background()
	setStock(t, s, "HOT", "lyon", 55, 5)
	var ok, short atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	start := make(chan struct{})
	for i := range 200 {
		wg.Go(func() {
			<-start
			_, err := s.Reserve(ctx, []*commerce.Reservation{{ID: fmt.Sprintf("r%03d", i), SKU: "HOT", Location: "lyon", Quantity: 1, CreatedAt: t0}}, nil)
			var ie *commerce.InsufficientStockError
			switch {
			case err == nil:
				ok.Add(1)
			case errors.As(err, &ie):
				short.Add(1)
			default:
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if ok.Load() != 50 || short.Load() != 150 {
		t.Fatalf("%d reservations succeeded and %d were refused; want exactly 50 and 150", ok.Load(), short.Load())
	}
	if l := level(t, s, "HOT", "lyon"); l.Reserved != 50 || l.Available() != 0 {
		t.Fatalf("after the rush: %+v", l)
	}
}

// testMultiLineOrders places orders whose lines name the same rows in
// opposite orders, concurrently: rows are locked in (SKU, location) order,
// so none deadlocks, and the stock adds up.
func testMultiLineOrders(t *testing.T, s commerceStore) {
	ctx := context.Background()
	skus := []string{"A", "B", "C", "D"}
	for _, sku := range skus {
		setStock(t, s, sku, "lyon", 1000, 0)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			o := &commerce.Order{ID: fmt.Sprintf("o%02d", i), Status: commerce.Placed, Version: 1, Customer: commerce.Customer{UserID: "u"}, CreatedAt: t0, UpdatedAt: t0}
			var rs []*commerce.Reservation
			for j := range skus {
				sku := skus[j]
				if i%2 == 1 {
					sku = skus[len(skus)-1-j]
				}
				rs = append(rs, &commerce.Reservation{ID: fmt.Sprintf("o%02d-%s", i, sku), SKU: sku, Location: "lyon", Quantity: 2, OrderID: o.ID, CreatedAt: t0})
			}
			if _, err := s.CreateOrder(ctx, o, rs, nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, sku := range skus {
		if l := level(t, s, sku, "lyon"); l.Reserved != 80 {
			t.Fatalf("%s reserved %d, want 80", sku, l.Reserved)
		}
	}
}

func testOrderEffectsAndReturns(t *testing.T, s commerceStore) {
	ctx := context.Background()
	setStock(t, s, "A", "lyon", 5, 0)
	setStock(t, s, "B", "lyon", 5, 0)
	o := &commerce.Order{ID: "o1", Channel: "web", Fulfilment: commerce.ClickCollect, Location: "lyon", Status: commerce.Placed, Version: 1,
		Customer: commerce.Customer{UserID: "u1"}, Currency: "EUR", CreatedAt: t0, UpdatedAt: t0,
		Lines: []commerce.Line{{SKU: "B", Quantity: 2, Price: 10}, {SKU: "A", Quantity: 1, Price: 20}}, Total: 40}
	rs := []*commerce.Reservation{{ID: "o1-B", SKU: "B", Location: "lyon", Quantity: 2, OrderID: "o1", CreatedAt: t0}, {ID: "o1-A", SKU: "A", Location: "lyon", Quantity: 1, OrderID: "o1", CreatedAt: t0}}
	if _, err := s.CreateOrder(ctx, o, rs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrder(ctx, o, nil, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate order id: %v", err)
	}
	// A stale version is refused and changes nothing.
	o.Status, o.Version, o.UpdatedAt = commerce.Collected, 2, t0.Add(time.Hour)
	if _, err := s.UpdateOrder(ctx, o, 5, commerce.Consume, nil); !errors.Is(err, commerce.ErrConflict) {
		t.Fatalf("stale update: %v", err)
	}
	ch, err := s.UpdateOrder(ctx, o, 1, commerce.Consume, nil)
	if err != nil || len(ch) != 2 {
		t.Fatalf("UpdateOrder = %+v, %v", ch, err)
	}
	if l := level(t, s, "B", "lyon"); l.OnHand != 3 || l.Reserved != 0 {
		t.Fatalf("consumed B: %+v", l)
	}
	got, err := s.Order(ctx, "o1")
	if err != nil || got.Status != commerce.Collected || got.Version != 2 {
		t.Fatalf("Order = %+v, %v", got, err)
	}
	if list, err := s.ListOrders(ctx, commerce.OrderQuery{Customer: "user_id:u1"}); err != nil || len(list) != 1 {
		t.Fatalf("ListOrders = %v, %v", list, err)
	}
	// Returned at another store: one sellable, one damaged.
	o.Lines[0].Returned, o.Lines[1].Returned, o.Version = 2, 1, 3
	r := &commerce.Return{ID: "ret1", OrderID: "o1", Location: "paris", Channel: "store", Resolution: commerce.Refund, Refunded: 40, CreatedAt: t0.Add(2 * time.Hour),
		Lines: []commerce.ReturnLine{{SKU: "B", Quantity: 2, Condition: commerce.Sellable}, {SKU: "A", Quantity: 1, Condition: commerce.Damaged}}}
	ch, err = s.RecordReturn(ctx, r, o, 2, nil)
	if err != nil || len(ch) != 1 || ch[0].After.Location != "paris" || ch[0].After.OnHand != 2 {
		t.Fatalf("RecordReturn = %+v, %v", ch, err)
	}
	if rets, err := s.Returns(ctx, "o1"); err != nil || len(rets) != 1 || rets[0].Refunded != 40 {
		t.Fatalf("Returns = %v, %v", rets, err)
	}
}

func testExpireReservations(t *testing.T, s commerceStore) {
	ctx := context.Background()
	setStock(t, s, "A", "lyon", 3, 0)
	rs := []*commerce.Reservation{
		{ID: "soon", SKU: "A", Location: "lyon", Quantity: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{ID: "later", SKU: "A", Location: "lyon", Quantity: 1, CreatedAt: t0, ExpiresAt: t0.Add(3 * time.Hour)},
		{ID: "order", SKU: "A", Location: "lyon", Quantity: 1, CreatedAt: t0, OrderID: "o"},
	}
	if _, err := s.Reserve(ctx, rs, nil); err != nil {
		t.Fatal(err)
	}
	got, ch, err := s.ExpireReservations(ctx, t0.Add(2*time.Hour), 100, nil)
	if err != nil || len(got) != 1 || got[0].ID != "soon" || got[0].Status != commerce.ReservationExpired || ch[0].After.Reserved != 2 {
		t.Fatalf("ExpireReservations = %+v, %+v, %v", got, ch, err)
	}
	if r, _ := s.Reservation(ctx, "soon"); r.Status != commerce.ReservationExpired || !r.EndedAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("expired reservation: %+v", r)
	}
	if got, _, _ := s.ExpireReservations(ctx, t0.Add(2*time.Hour), 100, nil); len(got) != 0 {
		t.Fatalf("expired twice: %+v", got)
	}
}

func testCarts(t *testing.T, s commerceStore) {
	ctx := context.Background()
	c, err := s.Cart(ctx, "anonymous_id:a1")
	if err != nil || c.Version != 0 || len(c.Items) != 0 {
		t.Fatalf("empty cart = %+v, %v", c, err)
	}
	c.Items = []commerce.CartItem{{SKU: "A", Quantity: 1, Price: 10, UpdatedAt: t0.Add(time.Hour)}}
	c.UpdatedAt = t0
	if err := s.SaveCart(ctx, c, nil); err != nil || c.Version != 1 {
		t.Fatalf("SaveCart = %v, version %d", err, c.Version)
	}
	stale := *c
	stale.Version = 0
	if err := s.SaveCart(ctx, &stale, nil); !errors.Is(err, commerce.ErrConflict) {
		t.Fatalf("stale cart write: %v", err)
	}
	known := &commerce.Cart{Customer: "user_id:u", Items: []commerce.CartItem{{SKU: "A", Quantity: 2, Price: 12, UpdatedAt: t0}}}
	if err := s.SaveCart(ctx, known, nil); err != nil {
		t.Fatal(err)
	}
	m, merged, err := s.MergeCart(ctx, "anonymous_id:a1", "user_id:u", func(into, from *commerce.Cart) *commerce.Cart {
		return commerce.MergeCarts(into, from, t0.Add(2*time.Hour))
	}, nil)
	if err != nil || !merged || len(m.Items) != 1 || m.Items[0].Quantity != 3 || m.Items[0].Price != 10 || m.Version != 2 {
		t.Fatalf("MergeCart = %+v, %v, %v", m, merged, err)
	}
	if c, _ := s.Cart(ctx, "anonymous_id:a1"); c.Version != 0 {
		t.Fatalf("the anonymous cart survived the merge: %+v", c)
	}
	if _, merged, err := s.MergeCart(ctx, "anonymous_id:a1", "user_id:u", nil, nil); err != nil || merged {
		t.Fatalf("merging again: %v, %v", merged, err)
	}
}
