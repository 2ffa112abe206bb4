package recommend

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// fakeProfiles holds each profile's events, newest first.
type fakeProfiles map[int64][]*event.Event

func (f fakeProfiles) Timeline(_ context.Context, q store.TimelineQuery) ([]*event.Event, error) {
	return f[q.Profile], nil
}

func (f fakeProfiles) Profile(_ context.Context, id int64) (*profile.Profile, error) {
	if _, ok := f[id]; !ok {
		return nil, store.ErrNotFound
	}
	return &profile.Profile{ID: id}, nil
}

// fakeCommerce has stock rows per SKU; locations W1 (a warehouse), S1
// and S2 (stores).
type fakeCommerce struct {
	stock map[string][]commerce.StockLevel
}

func (f fakeCommerce) ProductsBySKU(_ context.Context, skus []string) (map[string]*commerce.Product, error) {
	out := map[string]*commerce.Product{}
	for _, s := range skus {
		id := strings.TrimPrefix(s, "SKU-")
		out[s] = &commerce.Product{ID: id, Name: "Catalogue " + id, Media: []string{"https://cdn.example/" + id + ".jpg"},
			Variants: []commerce.Variant{{SKU: s, Price: 99, Currency: "EUR"}}}
	}
	return out, nil
}

func (f fakeCommerce) StockOf(_ context.Context, sku string) ([]commerce.StockLevel, error) {
	return f.stock[sku], nil
}

func (f fakeCommerce) ListLocations(context.Context, string, int) ([]*commerce.Location, error) {
	return []*commerce.Location{{ID: "S1", Kind: commerce.KindStore}, {ID: "S2", Kind: commerce.KindStore}, {ID: "W1", Kind: commerce.KindWarehouse}}, nil
}

func level(sku, loc string, onHand int64) commerce.StockLevel {
	return commerce.StockLevel{SKU: sku, Location: loc, OnHand: onHand}
}

// world: the fixture plus D (shoes, bought with A once) and E (socks).
// Profile 1 bought A and returned D; profile 2 viewed B; profile 3 is
// new.
func world(t *testing.T, stock map[string][]commerce.StockLevel) *Recommender {
	t.Helper()
	m := NewModel(Options{})
	evs := fixture()
	evs = append(evs, order("u5", "S1", at(0), line("A", "shoes", 80), line("D", "shoes", 70)),
		order("u6", "S1", at(0), line("E", "socks", 5)))
	m.LearnBatch(evs)
	profiles := fakeProfiles{
		1: {
			track(EventOrderRefunded, "p1", at(time.Hour), map[string]any{"products": []any{line("D", "shoes", 70)}}),
			order("p1", "S1", at(time.Minute), line("A", "shoes", 80), line("D", "shoes", 70)),
		},
		2: {view("p2", "B", "bags", at(time.Hour))},
		3: {},
	}
	r := &Recommender{Model: m, Profiles: profiles}
	if stock != nil {
		r.Commerce = fakeCommerce{stock}
	}
	return r
}

func ids(res *Result) string {
	var out []string
	for _, it := range res.Items {
		out = append(out, it.ProductID)
	}
	return strings.Join(out, ",")
}

func TestExclusions(t *testing.T) {
	r := world(t, nil)
	ctx := context.Background()
	cases := []struct {
		name string
		q    Query
		want string
	}{
		// Bought A (not proposed again), returned D (never proposed):
		// B and C go with A; then popular E.
		{"bought and returned are left out", Query{Profile: 1, Name: "for_you"}, "B,C,E"},
		{"similar to a product", Query{Name: "similar", Product: "A"}, "B,D,C,E"},
		{"recently viewed has no fallback", Query{Profile: 2, Name: "recently_viewed"}, "B"},
		{"a new customer gets what is popular", Query{Profile: 3, Name: "for_you", Limit: 2}, "A,B"},
		{"popular in a store", Query{Name: "popular", Store: "S2"}, ""}, // no stock known: a store cannot be promised
		{"complements of the last order's categories", Query{Profile: 1, Name: "complements"}, "B,C,E"},
		{"browse abandonment starts with the product viewed", Query{Profile: 2, Name: "browse_abandonment", Available: AvailableAny, Limit: 1}, "B"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := r.Recommend(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	// A definition where shoes are replenishable proposes A again to
	// profile 1, who bought it.
	r.SetDefinitions([]Definition{{Name: "again", Strategy: StrategyPopular, Filters: Filters{Replenishable: []string{"shoes"}}}})
	res, err := r.Recommend(ctx, Query{Profile: 1, Name: "again", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(res); got != "A" {
		t.Errorf("replenishable: got %q, want A again", got)
	}
}

func TestStockFiltering(t *testing.T) {
	stock := map[string][]commerce.StockLevel{
		"SKU-B": {level("SKU-B", "S1", 0), level("SKU-B", "W1", 4)}, // online only
		"SKU-C": {level("SKU-C", "S1", 2)},                          // store S1 only
		"SKU-E": {level("SKU-E", "S1", 0), level("SKU-E", "S2", 0)}, // out everywhere
		// A and D: no stock rows (unknown)
	}
	r := world(t, stock)
	ctx := context.Background()
	cases := []struct {
		name string
		q    Query
		want string
	}{
		{"anywhere: out of stock everywhere is left out, unknown kept", Query{Name: "similar", Product: "A"}, "B,D,C"},
		{"online: warehouses only", Query{Name: "similar", Product: "A", Available: AvailableOnline}, "B"},
		{"at a store", Query{Name: "similar", Product: "A", Store: "S1"}, "C"},
		{"popular at a store", Query{Name: "popular", Store: "S1"}, "C"},
		{"nearest of a customer without a store is online", Query{Profile: 3, Name: "popular", Available: AvailableNearest}, "B"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := r.Recommend(ctx, c.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
	res, err := r.Recommend(ctx, Query{Name: "similar", Product: "A", Store: "S1", Channel: "web"})
	if err != nil {
		t.Fatal(err)
	}
	it := res.Items[0]
	if it.Availability != (Availability{Status: "in_stock", Where: "S1", Available: 2}) || it.Price != 99 || it.Name != "Catalogue C" ||
		len(it.Media) != 1 {
		t.Errorf("item = %+v", it)
	}
}

func TestTag(t *testing.T) {
	if got := Tag("https://shop.example/p/1?x=1", "for_you", "email"); got != "https://shop.example/p/1?rec=for_you&utm_content=rec-for_you&x=1" {
		t.Errorf("email: %s", got)
	}
	if got := Tag("https://shop.example/p/1", "popular", ""); !strings.Contains(got, "utm_campaign=rec-popular") || !strings.Contains(got, "utm_source=parcours") {
		t.Errorf("web: %s", got)
	}
	if got := Tag("/relative", "x", ""); got != "/relative" {
		t.Errorf("relative: %s", got)
	}
}

func TestUnknownName(t *testing.T) {
	r := world(t, nil)
	_, err := r.Recommend(context.Background(), Query{Name: "nope"})
	if err == nil || !strings.Contains(err.Error(), "neither a recommendation") {
		t.Fatalf("err = %v", err)
	}
}
