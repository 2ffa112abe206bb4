package storetest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/problem"
)

// service is the commerce service over s, with the catalog the tests of
// this file share: product p1 with SKU A, location lyon. Its events are
// not recorded.
func service(t *testing.T, s commerceStore) *commerce.Service {
	t.Helper()
	svc := commerce.New(s, commerce.Options{Clock: clock.NewFake(t0), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx := context.Background()
	if err := svc.UpsertProducts(ctx, []*commerce.Product{product("p1", "A")}); err != nil {
		t.Fatal(err)
	}
	if err := svc.UpsertLocations(ctx, []*commerce.Location{{ID: "lyon", Name: "Lyon", Lat: 45.76, Lon: 4.83, TimeZone: "Europe/Paris"}}); err != nil {
		t.Fatal(err)
	}
	return svc
}

// unknown checks that err is the *UnknownError of field, of that kind and
// id, and that it is also a not-found and a validation error.
func unknown(t *testing.T, err error, field, kind, id string) {
	t.Helper()
	var ue *commerce.UnknownError
	var ve *problem.ValidationError
	if !errors.As(err, &ue) || ue.Field != field || ue.Kind != kind || ue.ID != id ||
		!errors.Is(err, commerce.ErrNotFound) || !errors.As(err, &ve) || ve.Path != field {
		t.Fatalf("want unknown %s %q on %s, got %T %v", kind, id, field, err, err)
	}
}

// testServiceRefusesUnknownRefs: stock and reservations of a SKU the
// catalog lacks or at a location that does not exist are refused, with
// the field and which of the two is unknown, and nothing is written
// (issue 13.6).
func testServiceRefusesUnknownRefs(t *testing.T, s commerceStore) {
	svc := service(t, s)
	ctx := context.Background()
	_, err := svc.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "paris", OnHand: 5}})
	unknown(t, err, "location_id", commerce.RefLocation, "paris")
	_, err = svc.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 5}, {SKU: "B", Location: "paris", OnHand: 5}})
	unknown(t, err, "stock[1].sku", commerce.RefSKU, "B")
	_, _, err = svc.AdjustStock(ctx, "k1", "count", []commerce.Delta{{SKU: "A", Location: "lyon", OnHand: 1}, {SKU: "A", Location: "nice", OnHand: 2}})
	unknown(t, err, "deltas[1].location_id", commerce.RefLocation, "nice")
	_, err = svc.Reserve(ctx, commerce.ReserveRequest{SKU: "B", Location: "lyon", Quantity: 1})
	unknown(t, err, "sku", commerce.RefSKU, "B")
	_, err = svc.Reserve(ctx, commerce.ReserveRequest{SKU: "A", Location: "paris", Quantity: 1})
	unknown(t, err, "location_id", commerce.RefLocation, "paris")
	for _, sku := range []string{"A", "B"} {
		if rows, err := s.StockOf(ctx, sku); err != nil || len(rows) != 0 {
			t.Fatalf("stock of %s after refusals: %v, %v", sku, rows, err)
		}
	}
	if rs, err := s.ListReservations(ctx, commerce.ReservationQuery{}); err != nil || len(rs) != 0 {
		t.Fatalf("reservations after refusals: %v, %v", rs, err)
	}
	// The same rows, once the SKU and location exist, are accepted.
	if _, err := svc.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 5}}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reserve(ctx, commerce.ReserveRequest{SKU: "A", Location: "lyon", Quantity: 1}); err != nil {
		t.Fatal(err)
	}
}

// testServiceIgnoresUnknownRows: rows of an unknown SKU or location
// already in the store (written before the refusal) are kept but never
// counted as available, and cannot be reserved; they count again once the
// SKU or the location exists.
func testServiceIgnoresUnknownRows(t *testing.T, s commerceStore) {
	svc := service(t, s)
	ctx := context.Background()
	// Written past the service, as before the fix.
	if _, err := s.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 5}, {SKU: "A", Location: "ghost", OnHand: 7},
		{SKU: "Z", Location: "lyon", OnHand: 9}}, t0, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := svc.Stock(ctx, "A")
	if err != nil || len(rows) != 1 || rows[0].Location != "lyon" {
		t.Fatalf("Stock(A) = %+v, %v; want lyon only", rows, err)
	}
	if rows, err := svc.Stock(ctx, "Z"); err != nil || len(rows) != 0 {
		t.Fatalf("Stock(Z) = %+v, %v; want none", rows, err)
	}
	if near, err := svc.Nearby(ctx, "Z", 45.76, 4.83, 10); err != nil || len(near) != 0 {
		t.Fatalf("Nearby(Z) = %+v, %v; want none", near, err)
	}
	_, err = svc.Reserve(ctx, commerce.ReserveRequest{SKU: "Z", Location: "lyon", Quantity: 1})
	unknown(t, err, "sku", commerce.RefSKU, "Z")
	_, err = svc.Reserve(ctx, commerce.ReserveRequest{SKU: "A", Location: "ghost", Quantity: 1})
	unknown(t, err, "location_id", commerce.RefLocation, "ghost")
	if err := svc.UpsertLocations(ctx, []*commerce.Location{{ID: "ghost", Name: "Ghost", Lat: 45, Lon: 4, TimeZone: "UTC"}}); err != nil {
		t.Fatal(err)
	}
	if rows, err := svc.Stock(ctx, "A"); err != nil || len(rows) != 2 {
		t.Fatalf("Stock(A) once ghost exists = %+v, %v", rows, err)
	}
}

// testStockNeverWrapsAround: a delta beyond the bounds is refused with its
// field before anything is read; a sum past the largest stock is refused
// by the engine with a *StockConstraintError, never wrapped into a
// negative number (issue 14.8).
func testStockNeverWrapsAround(t *testing.T, s commerceStore) {
	svc := service(t, s)
	ctx := context.Background()
	if _, err := svc.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 5}}); err != nil {
		t.Fatal(err)
	}
	var ve *problem.ValidationError
	_, _, err := svc.AdjustStock(ctx, "big", "", []commerce.Delta{{SKU: "A", Location: "lyon", OnHand: math.MaxInt64}})
	if !errors.As(err, &ve) || ve.Path != "deltas[0].delta" {
		t.Fatalf("a delta of MaxInt64: %v", err)
	}
	_, err = svc.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: commerce.MaxQuantity + 1}})
	if !errors.As(err, &ve) || ve.Path != "on_hand" {
		t.Fatalf("on hand above the largest stock: %v", err)
	}
	// A row near the int64 limit, written before the bound existed.
	if _, err := s.SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: math.MaxInt64 - 10}}, t0, nil); err != nil {
		t.Fatal(err)
	}
	var ce *commerce.StockConstraintError
	_, _, err = svc.AdjustStock(ctx, "more", "", []commerce.Delta{{SKU: "A", Location: "lyon", OnHand: 20}})
	if !errors.As(err, &ce) || strings.Contains(err.Error(), "-9") || !strings.Contains(err.Error(), "largest stock") {
		t.Fatalf("a sum past the int64 limit: %v", err)
	}
	if l := level(t, s, "A", "lyon"); l.OnHand != math.MaxInt64-10 {
		t.Fatalf("on hand changed to %d", l.OnHand)
	}
	// Decrements still apply.
	if _, applied, err := svc.AdjustStock(ctx, "less", "", []commerce.Delta{{SKU: "A", Location: "lyon", OnHand: -20}}); err != nil || !applied {
		t.Fatalf("a decrement of a huge row: %v", err)
	}
}
