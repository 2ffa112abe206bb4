package recommend

import (
	"context"
	"slices"
	"time"

	"github.com/parcours/parcours/internal/commerce"
)

// keepWindow is how many candidates past the limit are looked up in the
// catalogue at once: most are kept, a few fall to the filters.
const keepWindow = 3

// keep walks the candidates in order (the strategy's n first, then the
// fallback's) and keeps the first limit that pass the exclusions and
// filters and are available where asked, described from the catalogue.
// fellBack[k] says item k came from the fallback.
func (r *Recommender) keep(ctx context.Context, def Definition, f Filters, h *History, cands []Scored, n, limit int) ([]Recommendation, []bool, error) {
	m := r.Model
	out := []Recommendation{}
	var fellBack []bool
	seen := map[int32]bool{}
	for start := 0; start < len(cands) && len(out) < limit; {
		// Take the next window of candidates that pass what the model
		// alone can tell.
		type cand struct {
			k  int
			s  Scored
			it Item
		}
		var win []cand
		m.mu.RLock()
		for ; start < len(cands) && len(win) < keepWindow*limit; start++ {
			c := cands[start]
			if seen[c.Item] {
				continue
			}
			seen[c.Item] = true
			it := m.items[c.Item]
			if !r.passes(def, f, h, &it) {
				continue
			}
			win = append(win, cand{start, c, it})
		}
		m.mu.RUnlock()
		if len(win) == 0 {
			break
		}
		var catalog map[string]*commerce.Product
		if r.Commerce != nil {
			skus := make([]string, 0, len(win))
			for _, c := range win {
				if c.it.SKU != "" {
					skus = append(skus, c.it.SKU)
				}
			}
			var err error
			if catalog, err = r.Commerce.ProductsBySKU(ctx, skus); err != nil {
				return nil, nil, err
			}
		}
		for _, c := range win {
			if len(out) >= limit {
				break
			}
			rec := describe(c.it, catalog[c.it.SKU])
			if !priceOK(f, rec.Price) {
				continue
			}
			av, ok, err := r.available(ctx, f, c.it, catalog[c.it.SKU])
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				continue
			}
			rec.Availability, rec.Score = av, c.s.Score
			fb := c.k >= n
			rec.Reason = "popular"
			if fb && f.Store != "" {
				rec.Reason = "popular in your store"
			}
			out = append(out, rec)
			fellBack = append(fellBack, fb)
		}
	}
	return out, fellBack, nil
}

// passes applies the exclusions and the filters the model can check:
// bought (unless replenishable), returned, category.
func (r *Recommender) passes(def Definition, f Filters, h *History, it *Item) bool {
	if _, ok := h.Returned[it.ID]; ok || it.ID == h.anchor {
		return false
	}
	if _, ok := h.Bought[it.ID]; ok && !slices.Contains(f.Replenishable, it.Category) {
		return false
	}
	if len(f.Categories) > 0 && !slices.Contains(f.Categories, it.Category) {
		return false
	}
	return !slices.Contains(f.ExcludeCategories, it.Category)
}

func priceOK(f Filters, price float64) bool {
	return (f.MinPrice == 0 || price >= f.MinPrice) && (f.MaxPrice == 0 || price <= f.MaxPrice)
}

// describe is the product as shown: the catalogue's name, price and
// media when commerce holds it, else what the events said.
func describe(it Item, p *commerce.Product) Recommendation {
	rec := Recommendation{ProductID: it.ID, SKU: it.SKU, Name: it.Name, Category: it.Category, Brand: it.Brand,
		Price: it.Price, Currency: it.Currency, URL: it.URL, ImageURL: it.ImageURL}
	if p == nil {
		if rec.ImageURL != "" {
			rec.Media = []string{rec.ImageURL}
		}
		return rec
	}
	rec.Name = p.Name
	if p.Brand != "" {
		rec.Brand = p.Brand
	}
	if c := p.Category(); c != "" && rec.Category == "" {
		rec.Category = c
	}
	rec.Media = p.Media
	if v := p.Variant(it.SKU); v != nil {
		rec.Price, rec.Currency = v.Price, v.Currency
		rec.Media = append(slices.Clone(v.Media), p.Media...)
	}
	if rec.ImageURL == "" && len(rec.Media) > 0 {
		rec.ImageURL = rec.Media[0]
	}
	if rec.URL == "" {
		rec.URL = p.Attributes["url"]
	}
	return rec
}

// available says whether the product can be had where f asks, and how
// many: any variant of its catalogue product counts.
func (r *Recommender) available(ctx context.Context, f Filters, it Item, p *commerce.Product) (Availability, bool, error) {
	where := f.Available
	if where == "" {
		where = AvailableAny
	}
	if where == AvailableStore {
		where = f.Store
	}
	if r.Commerce == nil {
		// Nothing is known of stock: only "anywhere" can be promised.
		return Availability{Status: "unknown", Where: where}, where == AvailableAny, nil
	}
	skus := []string{it.SKU}
	if p != nil && len(p.Variants) > 0 {
		skus = skus[:0]
		for _, v := range p.Variants {
			skus = append(skus, v.SKU)
		}
	}
	var locs map[string]*commerce.Location
	if where == AvailableOnline {
		var err error
		if locs, err = r.locations(ctx); err != nil {
			return Availability{}, false, err
		}
	}
	rows, total := 0, int64(0)
	for _, sku := range skus {
		if sku == "" {
			continue
		}
		levels, err := r.Commerce.StockOf(ctx, sku)
		if err != nil {
			return Availability{}, false, err
		}
		for _, l := range levels {
			switch where {
			case AvailableAny:
			case AvailableOnline:
				if loc := locs[l.Location]; loc == nil || loc.Kind != commerce.KindWarehouse {
					continue
				}
			default:
				if l.Location != where {
					continue
				}
			}
			rows++
			total += max(0, l.Available())
		}
	}
	switch {
	case total > 0:
		return Availability{Status: "in_stock", Where: where, Available: total}, true, nil
	case rows == 0 && where == AvailableAny:
		// Commerce holds no stock for it: a product sold elsewhere (a
		// marketplace's) is not known to be out.
		return Availability{Status: "unknown", Where: where}, true, nil
	}
	return Availability{Status: "out_of_stock", Where: where}, false, nil
}

// locations are commerce's locations, read at most once a minute.
func (r *Recommender) locations(ctx context.Context) (map[string]*commerce.Location, error) {
	r.locMu.Lock()
	defer r.locMu.Unlock()
	if r.locs != nil && time.Since(r.locsAt) < time.Minute {
		return r.locs, nil
	}
	m := map[string]*commerce.Location{}
	after := ""
	for {
		page, err := r.Commerce.ListLocations(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, l := range page {
			m[l.ID] = l
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	r.locs, r.locsAt = m, time.Now()
	return m, nil
}
