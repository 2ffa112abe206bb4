package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
)

// TestStockCheckConstraint checks the table itself: whatever writes to it,
// stock cannot go negative nor below what is reserved.
func TestStockCheckConstraint(t *testing.T) {
	dsn, admin := freshSchema(t)
	s := connect(t, dsn)
	ctx := context.Background()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := (commerce.Writes{Store: s}).SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 2}}, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE stock SET on_hand = -1",
		"UPDATE stock SET reserved = 3",
		"UPDATE stock SET safety = -1",
	} {
		if _, err := admin.Exec(ctx, q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
}
