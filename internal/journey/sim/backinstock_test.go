package sim_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/journey/sim"
)

// Back in stock with two customers waiting on the same SKU, a SKU nobody
// waits for coming back first, the SKU coming back at another store than
// the one in the scenario's first count, then at a second store (the
// customers already moved on: nothing more).
const backInStockScenario = `
name: two wait on one SKU
stores:
  - {id: lyon-bellecour, name: Lyon Bellecour, lat: 45.7578, lon: 4.8320}
  - {id: paris-rivoli, name: Paris Rivoli, lat: 48.8606, lon: 2.3376}
stock:
  - {sku: SHOE-44, store: lyon-bellecour, on_hand: 0}
  - {sku: SHOE-44, store: paris-rivoli, on_hand: 0}
  - {sku: SHOE-45, store: lyon-bellecour, on_hand: 0}
  - {sku: SHOE-46, store: lyon-bellecour, on_hand: 0}
customers:
  - user: dan
    traits: {email: dan@example.fr, emailOptIn: true}
  - user: fay
    traits: {email: fay@example.fr, emailOptIn: true}
  - user: eve
    traits: {email: eve@example.fr, emailOptIn: true}
steps:
  - {at: "+0", user: dan, event: Product Viewed, properties: {sku: SHOE-44, available: false}}
  - {at: "+1m", user: fay, event: Product Viewed, properties: {sku: SHOE-44, available: false}}
  - {at: "+2m", user: eve, event: Product Viewed, properties: {sku: SHOE-45, available: false}}
  - {at: "+1h", stock: {sku: SHOE-46, store: lyon-bellecour, on_hand: 5}}
  - {at: "+1d", stock: {sku: SHOE-44, store: paris-rivoli, on_hand: 2}}
  - {at: "+2d", stock: {sku: SHOE-44, store: lyon-bellecour, on_hand: 2}}
until: "+3d"
expect:
  - {at: "+1d", user: dan, send: {channel: best, template: back-in-stock}}
  - {at: "+1d", user: fay, send: {channel: best, template: back-in-stock}}
  - {at: "+1h", user: dan, no_send: {}}
  - {at: "+2d", user: dan, no_send: {}}
  - {at: "+2d", user: fay, no_send: {}}
  - {user: dan, ends: completed}
  - {user: fay, ends: completed}
  - {user: eve, no_send: {}}
  - {user: eve, ends: active}
`

func TestBackInStockEdges(t *testing.T) {
	b, err := os.ReadFile("../../../examples/journeys/back-in-stock.yaml")
	if err != nil {
		t.Fatal(err)
	}
	files, err := sim.ParseJourneyFile("back-in-stock.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sim.ParseScenario("s.yaml", strings.NewReader(backInStockScenario))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(context.Background(), files, sc)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res.Print(&out)
	if !res.Passed {
		t.Fatalf("expectations failed:\n%s", out.String())
	}
	// Exactly one send each.
	if n := strings.Count(out.String(), "✉"); n != 2 {
		t.Fatalf("%d sends, want 2:\n%s", n, out.String())
	}
}

// TestSendSpecDataFields: a send expectation's promo_code and store, and
// a task expectation's cart, fail when the send carries another code or
// names another store, or the task's cart lacks the SKU.
func TestSendSpecDataFields(t *testing.T) {
	for _, c := range []struct{ name, from, to string }{
		{"birthday", "promo_code: BDAY}", "promo_code: XMAS}"},
		{"browse-abandonment", "store: store-lyon-01}", "store: store-paris-01}"},
		{"in-store-vip", "cart: CHA-0009-GRI}", "cart: SAC-0111-CAM}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := os.ReadFile("../../../examples/journeys/scenarios/" + c.name + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(c.from)) {
				t.Fatalf("the scenario no longer expects %s", c.from)
			}
			sc, err := sim.ParseScenario("s.yaml", bytes.NewReader(bytes.ReplaceAll(b, []byte(c.from), []byte(c.to))))
			if err != nil {
				t.Fatal(err)
			}
			jb, err := os.ReadFile("../../../examples/journeys/" + c.name + ".yaml")
			if err != nil {
				t.Fatal(err)
			}
			files, err := sim.ParseJourneyFile(c.name+".yaml", jb)
			if err != nil {
				t.Fatal(err)
			}
			res, err := sim.Run(context.Background(), files, sc)
			if err != nil {
				t.Fatal(err)
			}
			if res.Passed {
				t.Fatalf("passed with %s", c.to)
			}
		})
	}
}
