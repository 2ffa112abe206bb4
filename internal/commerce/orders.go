package commerce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// PlaceOrder validates a new order from any channel, fills its lines from
// the catalog (product id, name, category, and the price when none was
// given), and stores it with its stock held at the fulfilling location, all
// or nothing. An order whose id exists already is refused with ErrConflict,
// so a client may retry with the same id safely.
func (s *Service) PlaceOrder(ctx context.Context, o *Order) (*Order, error) {
	if err := s.enrichLines(ctx, o.Lines); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	// Every line reserves its SKU at the location: a SKU the catalog does
	// not know is refused by name, as a reservation of it is, rather than
	// reported as out of stock.
	refs := make([]ref, len(o.Lines))
	for i, l := range o.Lines {
		refs[i] = ref{skuField: fmt.Sprintf("lines[%d].sku", i), sku: l.SKU}
	}
	if err := s.checkRefs(ctx, refs...); err != nil {
		return nil, err
	}
	loc, err := s.st.Location(ctx, o.Location)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid("location_id", "no location %q", o.Location)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case o.Fulfilment == ClickCollect && !loc.Can(CapClickCollect):
		return nil, invalid("location_id", "%s does not offer click & collect", loc.ID)
	case o.Fulfilment == ShipFromStore && !loc.Can(CapShipFromStore):
		return nil, invalid("location_id", "%s does not ship from store", loc.ID)
	}
	if o.ID == "" {
		o.ID = newID("ord_")
	}
	now := s.o.Clock.Now()
	o.Status, o.Version, o.CreatedAt, o.UpdatedAt = Placed, 1, now, now
	o.History = []Step{{Status: Placed, At: now}}
	var rs []*Reservation
	for _, l := range o.Lines {
		rs = append(rs, &Reservation{ID: o.ID + "-" + l.SKU, SKU: l.SKU, Location: o.Location, Quantity: l.Quantity,
			OrderID: o.ID, Customer: o.Customer, CreatedAt: now})
	}
	_, err = s.w.CreateOrder(ctx, o, rs, s.orderOutbox(o, now))
	if err != nil {
		return nil, err
	}
	s.kick()
	return o, nil
}

// orderOutbox is the Events of o reaching its current status: the order's
// events, then the stock events of its reservations.
func (s *Service) orderOutbox(o *Order, now time.Time) Events {
	return s.outbox(func(e Effect) []*event.Event {
		return append(OrderEvents(o, now), StockEvents(e.Changes, s.o.LowStock, now)...)
	})
}

// enrichLines fills lines from the catalog. SKUs the catalog does not know
// are accepted as sent (a store may sell what the catalog lacks).
func (s *Service) enrichLines(ctx context.Context, lines []Line) error {
	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	byS, err := s.st.ProductsBySKU(ctx, skus)
	if err != nil {
		return err
	}
	for i := range lines {
		l := &lines[i]
		p, ok := byS[l.SKU]
		if !ok {
			continue
		}
		v := p.Variant(l.SKU)
		l.ProductID = p.ID
		if l.Name == "" {
			l.Name = p.Name
		}
		if l.Category == "" {
			l.Category = p.Category()
		}
		if l.Price == 0 && v != nil {
			l.Price = v.Price
		}
	}
	return nil
}

// Transition moves an order to status to, if the status machine allows
// it (else *TransitionError), applying its stock effect and emitting its
// event. A concurrent change is retried against the new state.
func (s *Service) Transition(ctx context.Context, id string, to Status, note string) (*Order, error) {
	for attempt := 0; ; attempt++ {
		o, err := s.st.Order(ctx, id)
		if err != nil {
			return nil, err
		}
		effect, err := Transition(o, to)
		if err != nil {
			return nil, err
		}
		prev, now := o.Version, s.o.Clock.Now()
		o.Status, o.Version, o.UpdatedAt = to, o.Version+1, now
		o.History = append(o.History, Step{Status: to, At: now, Note: note})
		_, err = s.w.UpdateOrder(ctx, o, prev, effect, s.orderOutbox(o, now))
		if isConflict(err) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.kick()
		return o, nil
	}
}

// Order returns an order.
func (s *Service) Order(ctx context.Context, id string) (*Order, error) { return s.st.Order(ctx, id) }

// RecordReturn receives goods of an order at a location, on any channel:
// sellable lines go back to that location's stock, damaged ones are only
// recorded; the refund or exchange is recorded; events are emitted.
func (s *Service) RecordReturn(ctx context.Context, r *Return) (*Return, error) {
	loc, err := s.st.Location(ctx, r.Location)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid("location_id", "no location %q", r.Location)
	}
	if err != nil {
		return nil, err
	}
	if loc.Kind == KindStore && !loc.Can(CapReturns) {
		return nil, invalid("location_id", "store %s does not accept returns", loc.ID)
	}
	if r.Channel == "" {
		r.Channel = "store"
	}
	if !slices.Contains(Channels, r.Channel) {
		return nil, invalid("channel", "must be one of web, app, store, call_center")
	}
	r.ID = newID("ret_")
	for attempt := 0; ; attempt++ {
		o, err := s.st.Order(ctx, r.OrderID)
		if err != nil {
			return nil, fmt.Errorf("commerce: return of order %s: %w", r.OrderID, err)
		}
		ret := *r
		ret.Lines = slices.Clone(r.Lines)
		if err := ApplyReturn(o, &ret); err != nil {
			return nil, err
		}
		prev, now := o.Version, s.o.Clock.Now()
		o.Version, o.UpdatedAt, ret.CreatedAt = o.Version+1, now, now
		_, err = s.w.RecordReturn(ctx, &ret, o, prev, s.outbox(func(e Effect) []*event.Event {
			return append(ReturnEvents(o, &ret, now), StockEvents(e.Changes, s.o.LowStock, now)...)
		}))
		if isConflict(err) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.kick()
		return &ret, nil
	}
}
