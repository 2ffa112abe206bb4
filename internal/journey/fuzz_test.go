package journey_test

import (
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/journey"
)

// FuzzParseAndValidate: definitions come from the network (the API) and
// from files; parsing and validating any input must return a definition
// or an error, never panic.
func FuzzParseAndValidate(f *testing.F) {
	f.Add([]byte(`{"id":"cart","name":"Cart","triggers":[{"event":"Product Added"}],"steps":[{"wait":{"for":"1h"}}]}`))
	f.Add([]byte(`{"id":"x","name":"X","triggers":[{"schedule":{"at":"10:00","segment":"vip"}}],"steps":[{"branch":{"cases":[{"when":{"not":{}},"steps":[]}]}}]}`))
	f.Add([]byte(`{"id":"x","name":"X","triggers":[{"api":true}],"steps":[{"split":{"variants":[{"name":"a","weight":1},{"name":"b","weight":-1}]}},{"wait":{"until":"9:5"}}]}`))
	f.Add([]byte(validJourney))
	f.Add([]byte(`{"id":"b","name":"B","triggers":[{"date_trait":{"trait":"birthday","anniversary":true,"offset":"-7d","at":"10:00"}}],` +
		`"steps":[{"branch":{"cases":[{"when":{"in_stock":{"sku":"{{ event.sku }}","store":"nearest","km":5},"reachable":"sms"},"steps":[]}]}},` +
		`{"task":{"store":"{{ event.store_id }}","title":"{{ trait.first_name }} {{","history":3}},` +
		`{"wait_for":{"event":"Back In Stock","where":{"sku":"{{ event.sku }}"},"timeout":"30d"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := journey.ParseJSON(b); err == nil {
			_ = journey.Validate(d, known)
		}
		if defs, err := journey.ParseYAML("fuzz.yaml", strings.NewReader(string(b))); err == nil {
			for _, d := range defs {
				_ = journey.Validate(d, known)
			}
		}
	})
}
