package commerce

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// ReserveRequest asks to hold stock for a customer (reserve in store).
type ReserveRequest struct {
	SKU      string        `json:"sku"`
	Location string        `json:"location_id"`
	Quantity int64         `json:"quantity"`
	Customer Customer      `json:"customer"`
	Channel  string        `json:"channel"` // where it was asked for; default web
	TTL      time.Duration `json:"-"`
	// Key is the client's idempotency key, if any: a retry with the same
	// key and request gets the reservation the key made, even if the
	// first answer was lost; with another request, a *KeyReuseError.
	Key string `json:"-"`
}

// Reserve holds stock for a customer until it is released or expires.
func (s *Service) Reserve(ctx context.Context, req ReserveRequest) (*Reservation, error) {
	r, _, err := s.ReserveOnce(ctx, req)
	return r, err
}

// ReserveOnce is Reserve, and tells whether the reservation was made
// before under the request's idempotency key (replayed): it is then
// returned as it is now, and nothing else happens.
func (s *Service) ReserveOnce(ctx context.Context, req ReserveRequest) (res *Reservation, replayed bool, err error) {
	if err := firstOf(checkID("sku", req.SKU), checkID("location_id", req.Location), CheckQuantity("quantity", req.Quantity, 1)); err != nil {
		return nil, false, err
	}
	key, err := newKey(ScopeReservation, req.Key, struct {
		ReserveRequest
		TTL time.Duration `json:"ttl"`
	}{req, req.TTL})
	if err != nil {
		return nil, false, err
	}
	return once(ctx, s, key, s.st.Reservation, func() (*Reservation, error) {
		if err := s.checkRefs(ctx, ref{"sku", req.SKU, "location_id", req.Location}); err != nil {
			return nil, err
		}
		ttl := req.TTL
		if ttl <= 0 {
			ttl = s.o.ReservationTTL
		}
		now := s.o.Clock.Now()
		r := &Reservation{ID: newID("res_"), SKU: req.SKU, Location: req.Location, Quantity: req.Quantity,
			Customer: req.Customer, CreatedAt: now, ExpiresAt: now.Add(ttl), Idem: key}
		channel := req.Channel
		if channel == "" {
			channel = "web"
		}
		_, err := s.w.Reserve(ctx, []*Reservation{r}, s.outbox(func(e Effect) []*event.Event {
			return append(StockEvents(e.Changes, s.o.LowStock, now), ReservationEvent(r, channel, now))
		}))
		if err != nil {
			s.o.Metrics.reservation("refused", 1)
			return nil, err
		}
		s.o.Metrics.reservation("reserved", 1)
		s.kick()
		return r, nil
	})
}

// Release gives a reservation's stock back.
func (s *Service) Release(ctx context.Context, id string) (*Reservation, error) {
	now := s.o.Clock.Now()
	r, _, err := s.w.EndReservation(ctx, id, ReservationReleased, now, s.outbox(func(e Effect) []*event.Event {
		return append(StockEvents(e.Changes, s.o.LowStock, now), ReservationEvent(e.Reservations[0], ChannelCommerce, now))
	}))
	if err != nil {
		return nil, err
	}
	s.o.Metrics.reservation("released", 1)
	s.kick()
	return r, nil
}

// ExpireDue releases every reservation past its expiry and returns how
// many it released.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	const batch = 500
	total := 0
	for {
		now := s.o.Clock.Now()
		rs, _, err := s.w.ExpireReservations(ctx, now, batch, s.outbox(func(e Effect) []*event.Event {
			evs := StockEvents(e.Changes, s.o.LowStock, now)
			for _, r := range e.Reservations {
				evs = append(evs, ReservationEvent(r, ChannelCommerce, now))
			}
			return evs
		}))
		if err != nil {
			return total, err
		}
		if len(rs) > 0 {
			s.kick()
		}
		s.o.Metrics.reservation("expired", len(rs))
		total += len(rs)
		if len(rs) < batch {
			return total, nil
		}
	}
}
