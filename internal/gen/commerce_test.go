package gen

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite examples/commerce from the generator")

// TestExamplesCommerceMatchTheGenerator: examples/commerce holds the
// stores, catalog and stock of `parcours gen` with its default options, so
// that the store ids and SKUs of the generated events exist once they are
// imported. go test ./internal/gen -run TestExamplesCommerce -update
// rewrites them.
func TestExamplesCommerceMatchTheGenerator(t *testing.T) {
	g := New(Options{})
	dir := filepath.Join("..", "..", "examples", "commerce")
	for name, write := range map[string]func(io.Writer) error{
		"stores.csv": g.WriteStoresCSV, "catalog.csv": g.WriteCatalogCSV, "stock.csv": g.WriteStockCSV,
	} {
		var want bytes.Buffer
		if err := write(&want); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if *update {
			if err := os.WriteFile(path, want.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s differs from the generator's (go test ./internal/gen -run TestExamplesCommerce -update)", path)
		}
	}
}

// TestGeneratedEventsNameTheCatalog: every store id and SKU of the events
// is in the commerce files.
func TestGeneratedEventsNameTheCatalog(t *testing.T) {
	g := New(Options{Customers: 300, Days: 10})
	var stores, catalog bytes.Buffer
	g.WriteStoresCSV(&stores)
	g.WriteCatalogCSV(&catalog)
	for n := 0; n < 50_000; n++ {
		ev, ok := g.Next()
		if !ok {
			break
		}
		if ev.StoreID != "" && !strings.Contains(stores.String(), "\n"+ev.StoreID+",") {
			t.Fatalf("store %s of an event is not in stores.csv", ev.StoreID)
		}
		for _, part := range strings.Split(string(ev.JSON), `"sku":"`)[1:] {
			sku := part[:strings.IndexByte(part, '"')]
			if !strings.Contains(catalog.String(), ","+sku+",") {
				t.Fatalf("SKU %s of an event is not in catalog.csv", sku)
			}
		}
	}
}
