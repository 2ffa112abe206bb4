package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/store/sqlite"
)

// TestStockCheckConstraint checks the table itself: whatever writes to it,
// stock cannot go negative nor below what is reserved.
func TestStockCheckConstraint(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := (commerce.Writes{Store: st}).SetStock(ctx, []commerce.StockLevel{{SKU: "A", Location: "lyon", OnHand: 2}}, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"UPDATE stock SET on_hand = -1",
		"UPDATE stock SET reserved = 3",
		"UPDATE stock SET safety = -1",
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
}
