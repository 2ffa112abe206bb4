package journey

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// StockReader tells where a SKU can be had, for in_stock branches.
// CommerceStock reads the commerce service's stock.
type StockReader interface {
	// Nearby lists the stores where sku is available, nearest to (lat,
	// lon) first.
	Nearby(ctx context.Context, sku string, lat, lon float64) ([]StoreStock, error)
	// At is the stock of sku at one store (Available 0 when it holds
	// none).
	At(ctx context.Context, sku, store string) (StoreStock, error)
}

// StoreStock is what a store has of a SKU. The store an in_stock branch
// finds is kept in the enrolment and given to the sends after it as the
// template data "store" ({{ data.store.name }}).
type StoreStock struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	DistanceKm float64 `json:"distance_km,omitempty"`
	Available  int64   `json:"available"`
	SKU        string  `json:"sku"`
}

// CommerceStock is the StockReader over the commerce service: its nearby
// search (stores, not warehouses) and the SKU's stock rows.
type CommerceStock struct{ Service *commerce.Service }

// Nearby lists the stores that have sku available, nearest first.
func (c CommerceStock) Nearby(ctx context.Context, sku string, lat, lon float64) ([]StoreStock, error) {
	list, err := c.Service.Nearby(ctx, sku, lat, lon, 0)
	if err != nil {
		return nil, err
	}
	out := make([]StoreStock, len(list))
	for i, a := range list {
		out[i] = StoreStock{ID: a.Location.ID, Name: a.Location.Name, DistanceKm: a.DistanceKm, Available: a.Available, SKU: sku}
	}
	return out, nil
}

// At reads what one store has of sku.
func (c CommerceStock) At(ctx context.Context, sku, storeID string) (StoreStock, error) {
	out := StoreStock{ID: storeID, Name: storeID, SKU: sku}
	levels, err := c.Service.Stock(ctx, sku) // rows that count: known SKU, existing store
	if err != nil {
		return out, err
	}
	for _, l := range levels {
		if l.Location == storeID {
			out.Available = max(l.Available(), 0)
		}
	}
	loc, err := c.Service.Store().Location(ctx, storeID)
	switch {
	case err == nil:
		out.Name = loc.Name
	case !errors.Is(err, commerce.ErrNotFound):
		return out, err
	}
	return out, nil
}

// defaultKm is how far "nearest" looks for a store by default.
const defaultKm = 10

// when evaluates a branch case: its segment condition (if any), then its
// stock condition (if any). why says what the stock read found.
func (r *runner) when(ctx context.Context, w *When, in segment.Input, en *store.Enrolment, st *state, at time.Time) (bool, string, error) {
	if w.InStock == nil || !isZeroCondition(&w.Condition) {
		ok, err := r.holds(ctx, &w.Condition, in, en, at)
		if err != nil || !ok {
			return false, "", err
		}
	}
	if w.InStock == nil {
		return true, "", nil
	}
	ok, why := r.inStock(ctx, w.InStock, en, st)
	return ok, why, nil
}

// inStock evaluates a stock condition and keeps the store it found in
// the enrolment's state. A failing read counts as out of stock (the trace
// says why): the journey goes on rather than stalling on it.
func (r *runner) inStock(ctx context.Context, q *InStock, en *store.Enrolment, st *state) (bool, string) {
	x := expander{st: st, prof: r.profiles[en.Profile]}
	sku := x.expand(q.SKU)
	if sku == "" {
		return false, "no SKU for " + q.SKU
	}
	if r.e.o.Stock == nil {
		return false, "no stock reader configured"
	}
	need := max(q.Min, 1)
	where := x.expand(q.Store)
	if q.Store == "" {
		where = "nearest"
	}
	if where == "" {
		return false, "no store for " + q.Store
	}
	if where != "nearest" {
		s, err := r.e.o.Stock.At(ctx, sku, where)
		if err != nil {
			r.e.log.Warn("journey: stock read failed", "sku", sku, "store", where, "err", err)
			return false, "stock read failed: " + err.Error()
		}
		if s.Available < need {
			return false, fmt.Sprintf("%s: %d available at %s (at least %d wanted)", sku, s.Available, s.Name, need)
		}
		st.Store = &s
		return true, fmt.Sprintf("%s: %d available at %s", sku, s.Available, s.Name)
	}
	lat, lon, ok := r.position(en.Profile, st)
	if !ok {
		return false, "no known position for the nearest store"
	}
	km := q.Km
	if km <= 0 {
		km = defaultKm
	}
	list, err := r.e.o.Stock.Nearby(ctx, sku, lat, lon)
	if err != nil {
		r.e.log.Warn("journey: stock read failed", "sku", sku, "err", err)
		return false, "stock read failed: " + err.Error()
	}
	for _, s := range list {
		if s.DistanceKm > km {
			break
		}
		if s.Available >= need {
			st.Store = &s
			return true, fmt.Sprintf("%s: %d available at %s, %g km away", sku, s.Available, s.Name, s.DistanceKm)
		}
	}
	return false, fmt.Sprintf("%s: no store within %g km has %d available", sku, km, need)
}

// position is where the customer is: the position of the event that
// enrolled them, else their profile's last known location.
func (r *runner) position(id int64, st *state) (float64, float64, bool) {
	if st.Pos != nil {
		return st.Pos.Lat, st.Pos.Lon, true
	}
	if p := r.profiles[id]; p != nil && !p.Agg.Location.At.IsZero() {
		return p.Agg.Location.Lat, p.Agg.Location.Lon, true
	}
	return 0, 0, false
}

// Position is a latitude and longitude.
type Position struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}
