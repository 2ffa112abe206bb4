package measure

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/store"
)

// FuzzDefinition: saved reports come from the management API (JSON) and
// from definition files (parcours apply). Any document is read without
// panic; a definition that validates is stored (encode) and read back
// (decodeDefinition) as the same definition (stored again, the same
// bytes), which validates again.
func FuzzDefinition(f *testing.F) {
	for _, name := range []string{"../../examples/measure/checkout-funnel.yaml", "../../examples/measure/dashboards.yaml"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	for _, s := range []string{
		`{"kind":"funnel","id":"f","steps":[{"event":"Product Viewed"},{"event":"Order Completed"}],"window":"7d","range":"30d"}`,
		`{"kind":"report","id":"r","report":"attribution","by":"channel","lookback":"14d","half_life":"7d"}`,
		`{"kind":"report","id":"r","report":"cohorts","interval":"week","periods":-3}`,
		"kind: report\nid: k\nreport: kpis\nkpis: [revenue]\nrange: 3651d\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		defs, _ := ParseDefinitions("fuzz.yaml", strings.NewReader(doc))
		var d Definition
		if json.Unmarshal([]byte(doc), &d) == nil && d.Validate() == nil {
			defs = append(defs, &d)
		}
		for _, d := range defs {
			if err := d.Validate(); err != nil {
				t.Fatalf("%q: parsed %+v does not validate: %v", doc, d, err)
			}
			b, err := d.encode()
			if err != nil {
				t.Fatalf("%q: %+v does not encode: %v", doc, d, err)
			}
			again, err := decodeDefinition(&store.MeasureDefinition{ID: d.ID, Definition: b})
			if err != nil {
				t.Fatalf("%q: stored as %s, not read back: %v", doc, b, err)
			}
			// Compared as stored: an empty list and none are one.
			if b2, err := again.encode(); err != nil || string(b2) != string(b) {
				t.Fatalf("%q: %+v stored as %s reads %+v, stored as %s (%v)", doc, d, b, again, b2, err)
			}
			if err := again.Validate(); err != nil {
				t.Fatalf("%q: stored as %s, read back invalid: %v", doc, b, err)
			}
		}
	})
}
