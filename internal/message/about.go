package message

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/store"
)

// Commerce is what templates read of commerce: the order a message is
// about, as it is now, and the stores (addresses, opening hours). The
// server passes the commerce service; nil: orders come from the event's
// properties only, stores from the stores file.
type Commerce interface {
	Order(ctx context.Context, id string) (*commerce.Order, error)
	Location(ctx context.Context, id string) (*commerce.Location, error)
}

// errLookup marks a failure to read what a template shows (the store
// failed, not the template): the send is tried again, not failed.
var errLookup = errors.New("message: reading template data")

// orderFields are the order properties an event carries that the order
// variable takes when commerce does not hold the order (a Segment
// "Order Completed" from a web shop).
var orderFields = []string{"status", "total", "currency", "store_id", "products", "fulfilment", "channel"}

// idOf reads an id property: a string, or a number written as an
// integer.
func idOf(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	return ""
}

// orderData is the "order" variable of a message about an order: one
// whose triggering event has an order_id property (commerce's Order
// Placed, Order Ready For Pickup, ...; the Segment e-commerce events).
// It is the commerce order as it is now when commerce holds it, else what
// the event says; nil when the event names no order.
func (p *Pipeline) orderData(ctx context.Context, ev map[string]any) (map[string]any, error) {
	id := idOf(ev["order_id"])
	if id == "" {
		return nil, nil
	}
	out := map[string]any{"id": id}
	for _, k := range orderFields {
		if v, ok := ev[k]; ok {
			out[k] = v
		}
	}
	if p.o.Commerce == nil {
		return out, nil
	}
	o, err := p.o.Commerce.Order(ctx, id)
	switch {
	case notFound(err):
		return out, nil
	case err != nil:
		return nil, fmt.Errorf("%w: order %s: %w", errLookup, id, err)
	}
	products := make([]any, 0, len(o.Lines))
	for _, l := range o.Lines {
		products = append(products, map[string]any{"product_id": l.ProductID, "sku": l.SKU, "name": l.Name,
			"price": l.Price, "quantity": l.Quantity, "category": l.Category})
	}
	maps.Copy(out, map[string]any{"status": string(o.Status), "total": o.Total, "currency": o.Currency,
		"store_id": o.Location, "products": products, "fulfilment": o.Fulfilment, "channel": o.Channel,
		"created_at": o.CreatedAt, "updated_at": o.UpdatedAt})
	return out, nil
}

func notFound(err error) bool {
	return errors.Is(err, commerce.ErrNotFound) || errors.Is(err, store.ErrNotFound)
}

// storeData is the "store" variable for the store id: what the stores
// file and commerce know of it (id, name, kind, lat, lon, address,
// time_zone, opening_hours). A store neither knows is its id, as its
// name too.
func (p *Pipeline) storeData(ctx context.Context, id string) (map[string]any, error) {
	out := map[string]any{"id": id, "name": id}
	return out, p.completeStore(ctx, out)
}

// completeStore adds to a store variable (the event's, the nearest, the
// one a journey's stock check found) what the stores file and commerce
// know of it, without replacing what it holds.
func (p *Pipeline) completeStore(ctx context.Context, s map[string]any) error {
	id := idOf(s["id"])
	if id == "" {
		return nil
	}
	add := func(k string, v any) {
		if cur, ok := s[k]; !ok || cur == nil || cur == "" || (k == "name" && cur == id) {
			s[k] = v
		}
	}
	// The stores file's entry first (its position wins), then commerce's
	// location: the same type, so the same fields; only commerce's gives
	// the empty ones (an address without a city is still an address).
	for i := range p.o.Stores {
		if st := &p.o.Stores[i]; st.ID == id {
			addLocation(add, st, false)
		}
	}
	if p.o.Commerce == nil {
		return nil
	}
	loc, err := p.o.Commerce.Location(ctx, id)
	switch {
	case notFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("%w: store %s: %w", errLookup, id, err)
	}
	addLocation(add, loc, true)
	return nil
}

// addLocation adds what a location knows to a store variable through add
// (which keeps what is there); empty fields only with all.
func addLocation(add func(string, any), l *place.Location, all bool) {
	if l.Name != "" {
		add("name", l.Name)
	}
	if all || l.Kind != "" {
		add("kind", l.Kind)
	}
	add("lat", l.Lat)
	add("lon", l.Lon)
	if all || l.TimeZone != "" {
		add("time_zone", l.TimeZone)
	}
	if all || l.Address != (place.Address{}) {
		add("address", map[string]any{"line1": l.Address.Line1, "line2": l.Address.Line2,
			"postal_code": l.Address.PostalCode, "city": l.Address.City, "country": l.Address.Country})
	}
	if len(l.OpeningHours) > 0 {
		add("opening_hours", l.OpeningHours)
	}
}
