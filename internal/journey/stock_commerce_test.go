package journey_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/journey"
)

// TestCommerceStock: the stock an in_stock branch reads from commerce is
// what is available (on hand − reserved − safety), at stores only for
// nearest, and 0 at a store id that does not exist.
func TestCommerceStock(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	svc := commerce.New(w.st, commerce.Options{Clock: w.clk, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := svc.UpsertProducts(ctx, []*commerce.Product{{ID: "shoe", Name: "Shoe",
		Variants: []commerce.Variant{{SKU: "SHOE-42", Price: 89.9, Currency: "eur"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.UpsertLocations(ctx, []*commerce.Location{
		{ID: "lyon", Name: "Lyon Bellecour", Lat: 45.7578, Lon: 4.8320, TimeZone: "Europe/Paris"},
		{ID: "depot", Name: "Depot", Kind: commerce.KindWarehouse, Lat: 45.7600, Lon: 4.8350, TimeZone: "Europe/Paris"},
		{ID: "villeurbanne", Name: "Villeurbanne", Lat: 45.7719, Lon: 4.8902, TimeZone: "Europe/Paris"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetStock(ctx, []commerce.StockLevel{
		{SKU: "SHOE-42", Location: "lyon", OnHand: 3},
		{SKU: "SHOE-42", Location: "depot", OnHand: 100},
		{SKU: "SHOE-42", Location: "villeurbanne", OnHand: 5, Safety: 1},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Reserve(ctx, commerce.ReserveRequest{SKU: "SHOE-42", Location: "lyon", Quantity: 2,
		Customer: commerce.Customer{UserID: "x"}}); err != nil {
		t.Fatal(err)
	}
	cs := journey.CommerceStock{Service: svc}
	at, err := cs.At(ctx, "SHOE-42", "lyon")
	if err != nil || at.Available != 1 || at.Name != "Lyon Bellecour" {
		t.Errorf("At lyon = %+v, %v; want 1 available (3 on hand, 2 reserved)", at, err)
	}
	if at, err := cs.At(ctx, "SHOE-42", "nowhere"); err != nil || at.Available != 0 {
		t.Errorf("At an unknown store = %+v, %v; want 0 available, no error", at, err)
	}
	list, err := cs.Nearby(ctx, "SHOE-42", 45.7600, 4.8350)
	if err != nil || len(list) != 2 || list[0].ID != "lyon" || list[0].Available != 1 || list[1].ID != "villeurbanne" || list[1].Available != 4 {
		t.Errorf("Nearby = %+v, %v; want lyon (1) then villeurbanne (4), not the depot", list, err)
	}
}
