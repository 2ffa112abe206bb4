package stories_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestStoryExamplesAsShipped runs the examples as examples/README.md
// tells a newcomer to: the stores, catalog and stock of examples/commerce
// imported before serve starts, then `parcours apply -f examples/`
// (templates, segments, journeys). The drive-to-store story with the
// shipped templates: a shopper in Lyon looks at kaki ballerinas, which the
// Presqu'île store has; two hours later one SMS names them and the store.
func TestStoryExamplesAsShipped(t *testing.T) {
	noStores := filepath.Join(t.TempDir(), "stores.yaml")
	os.WriteFile(noStores, []byte("[]\n"), 0o600)
	l := newLive(t, liveOptions{templates: t.TempDir(), stores: noStores, prepare: func(l *live) {
		// Rejects go to the data directory, never beside the examples:
		// packages' tests run at once and must not write the source tree.
		rejects := func(name string) string { return filepath.Join(l.dir, name+".rejects.ndjson") }
		l.parcours("locations", "import", "../../examples/commerce/stores.csv", "--data-dir", l.dir, "--rejects", rejects("stores"))
		l.parcours("catalog", "import", "../../examples/commerce/catalog.csv", "--data-dir", l.dir, "--rejects", rejects("catalog"))
		l.parcours("stock", "import", "../../examples/commerce/stock.csv", "--no-events", "--data-dir", l.dir, "--rejects", rejects("stock"))
	}})
	l.apply("../../examples/")
	l.settle()

	// 150 m from Parcours Lyon Presqu'île (45.7597, 4.8320).
	near := map[string]any{"latitude": 45.7610, "longitude": 4.8325}
	l.track("track", map[string]any{"anonymousId": "anon-ex", "event": "Product Viewed", "properties": map[string]any{
		"sku": "CHA-0001-KAK", "product_id": "P100001", "name": "Ballerines en cuir kaki", "price": 104.99,
		"url": "https://www.parcours-boutique.example/p/ballerines-en-cuir-kaki-P100001"}, "context": map[string]any{"location": near}})
	l.at(10 * time.Minute)
	l.track("identify", map[string]any{"anonymousId": "anon-ex", "userId": "camille-1", "traits": map[string]any{
		"first_name": "Camille", "email": "camille@example.fr", "phone": "+33612340000", "smsOptIn": true, "emailOptIn": true}})
	l.at(2 * time.Hour)
	l.expectSent("sms", "+33612340000", "Parcours : Ballerines en cuir kaki vous attend à Parcours Lyon Presqu'île. STOP au 36111")
	// Whatever else the examples do with a browse (segments, other
	// journeys), nothing more reaches Camille in the next days.
	l.at(3 * 24 * time.Hour)
	for _, s := range l.box.list("", "") {
		if s.To != "+33612340000" || !regexp.MustCompile(`Ballerines en cuir kaki`).MatchString(s.text()) {
			t.Fatalf("an unexpected message: %+v", s)
		}
	}
	l.expectSent("sms", "+33612340000", "Parcours : Ballerines en cuir kaki vous attend à Parcours Lyon Presqu'île. STOP au 36111")
}
