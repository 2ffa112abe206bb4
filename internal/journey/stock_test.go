package journey_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/place"
)

// shelf is a StockReader over a fixed table: store -> SKU -> available.
type shelf struct {
	stores []place.Location
	stock  map[string]map[string]int64
	fail   bool
}

func (s *shelf) Nearby(_ context.Context, sku string, lat, lon float64) ([]journey.StoreStock, error) {
	if s.fail {
		return nil, errors.New("stock store down")
	}
	var out []journey.StoreStock
	for _, st := range s.stores { // listed nearest first in the tests
		if n := s.stock[st.ID][sku]; n > 0 {
			out = append(out, journey.StoreStock{ID: st.ID, Name: st.Name, SKU: sku, Available: n,
				DistanceKm: place.DistanceKm(lat, lon, st.Lat, st.Lon)})
		}
	}
	return out, nil
}

func (s *shelf) At(_ context.Context, sku, store string) (journey.StoreStock, error) {
	return journey.StoreStock{ID: store, Name: store, SKU: sku, Available: s.stock[store][sku]}, nil
}

// TestInStockBranches: the SKU of the event that enrolled the customer,
// the nearest store within km that has at least min, or a named store;
// the store found reaches the send's template data.
func TestInStockBranches(t *testing.T) {
	w := newWorld(t)
	lyon := place.Location{ID: "lyon", Name: "Lyon Bellecour", Lat: 45.7578, Lon: 4.8320}
	villeurbanne := place.Location{ID: "villeurbanne", Name: "Villeurbanne", Lat: 45.7719, Lon: 4.8902}
	sh := &shelf{stores: []place.Location{lyon, villeurbanne}, stock: map[string]map[string]int64{
		"lyon":         {"SHOE-42": 1, "BAG-1": 5},
		"villeurbanne": {"SHOE-42": 4},
	}}
	w.eng = w.engine(journey.Options{Sender: w.rec, Stock: sh})
	w.apply(`
kind: journey
id: browse
name: Browse
triggers:
  - event: Product Viewed
steps:
  - wait: {for: 1h}
  - branch:
      cases:
        - when: {in_stock: {sku: "{{ event.sku }}", min: 2, km: 10}}
          steps: [{send: {channel: sms, template: near}}]
        - when: {in_stock: {sku: "{{ event.sku }}", store: lyon}}
          steps: [{send: {channel: sms, template: at-lyon}}]
      else:
        - send: {channel: email, template: reminder}
`)
	here := map[string]any{"latitude": 45.7600, "longitude": 4.8350}
	with := func(sku string) map[string]any {
		m := map[string]any{"sku": sku}
		for k, v := range here {
			m[k] = v
		}
		return m
	}
	w.track("ana", "Product Viewed", with("SHOE-42"))                  // Lyon has 1, Villeurbanne (4.7 km) 4
	w.track("ben", "Product Viewed", with("BAG-1"))                    // Lyon has 5
	w.track("cid", "Product Viewed", with("HAT-9"))                    // nowhere
	w.track("dan", "Product Viewed", map[string]any{"sku": "SHOE-42"}) // no position: only the named store
	w.at(time.Hour)
	got := map[string]string{}
	for _, s := range w.rec.Sent() {
		store := ""
		if st, ok := s.Data["store"].(map[string]any); ok {
			store, _ = st["id"].(string)
		}
		for _, u := range []string{"ana", "ben", "cid", "dan"} {
			if w.profile(u) == s.Profile {
				got[u] = s.Template + "@" + store
			}
		}
	}
	want := map[string]string{"ana": "near@villeurbanne", "ben": "near@lyon", "cid": "reminder@", "dan": "at-lyon@lyon"}
	for u, tmpl := range want {
		if got[u] != tmpl {
			t.Errorf("%s got %q, want %q", u, got[u], tmpl)
		}
	}
}

// TestInStockReadFailureTakesElse: a stock read that fails counts as out
// of stock; the journey goes on.
func TestInStockReadFailureTakesElse(t *testing.T) {
	w := newWorld(t)
	w.eng = w.engine(journey.Options{Sender: w.rec, Stock: &shelf{fail: true}})
	w.apply(`
kind: journey
id: browse
name: Browse
triggers:
  - event: Product Viewed
steps:
  - branch:
      cases:
        - when: {in_stock: {sku: "{{ event.sku }}"}}
          steps: [{send: {channel: sms, template: near}}]
      else:
        - send: {channel: email, template: reminder}
`)
	w.track("ana", "Product Viewed", map[string]any{"sku": "SHOE-42", "latitude": 45.76, "longitude": 4.835})
	w.at(time.Minute)
	if got := w.templates("ana"); len(got) != 1 || got[0] != "reminder" {
		t.Fatalf("sends = %v, want the else branch's reminder", got)
	}
}
