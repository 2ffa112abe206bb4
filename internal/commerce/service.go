package commerce

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
)

// Sink appends events to the log; the server passes its group committer.
type Sink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// Options configure a Service. Zero values take the defaults.
type Options struct {
	// Yield makes the log consumer wait while ingestion is saturated.
	Yield  func() bool
	Clock  clock.Clock
	Sink   Sink // where the relay delivers; nil: no events are recorded (imports that only load data)
	Logger *slog.Logger
	// LowStock is the availability at or under which Low Stock is emitted;
	// default 3.
	LowStock int64
	// ReservationTTL is how long a reservation without an order holds
	// stock when the request does not say; default 48h.
	ReservationTTL time.Duration
	// LocationsTTL is how long the locations list is cached for nearby
	// searches (writes through this service refresh it at once); default 10s.
	LocationsTTL time.Duration
	// Metrics, if set, count the outbox relay's deliveries.
	Metrics *Metrics
	// Profiles, if set, tells the log consumer whose profile an event is
	// on, so that carts follow the customer's profile (see Handle).
	Profiles Profiles
}

// Service is commerce's API: it validates, and writes through the store
// each change together with its events (the store's outbox, in the
// change's transaction); RunRelay moves the events into the log.
type Service struct {
	st  Store
	o   Options
	log *slog.Logger

	mu        sync.Mutex
	locations map[string]*Location
	loadedAt  time.Time

	wake    chan struct{} // a change committed events to the outbox
	relayMu sync.Mutex    // one delivery of the outbox at a time
}

// New returns the service over st.
func New(st Store, o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.LowStock <= 0 {
		o.LowStock = 3
	}
	if o.ReservationTTL <= 0 {
		o.ReservationTTL = 48 * time.Hour
	}
	if o.LocationsTTL <= 0 {
		o.LocationsTTL = 10 * time.Second
	}
	return &Service{st: st, o: o, log: o.Logger, wake: make(chan struct{}, 1)}
}

// Store returns the store the service writes to.
func (s *Service) Store() Store { return s.st }

// newID returns a time-ordered id with a prefix: ord_…, res_…, ret_….
func newID(prefix string) string { return prefix + uuid.Must(uuid.NewV7()).String() }

// outbox returns the Events a store write is given: evs, or nil when the
// service has no Sink (events are not recorded at all).
func (s *Service) outbox(evs Events) Events {
	if s.o.Sink == nil {
		return nil
	}
	return evs
}

// stockOutbox is the Events of a write whose only events are stock ones.
func (s *Service) stockOutbox(now time.Time) Events {
	return s.outbox(func(e Effect) []*event.Event { return StockEvents(e.Changes, s.o.LowStock, now) })
}

// UpsertProducts validates and writes products.
func (s *Service) UpsertProducts(ctx context.Context, ps []*Product) error {
	now := s.o.Clock.Now()
	for i, p := range ps {
		if err := p.Validate(); err != nil {
			if len(ps) > 1 {
				return fmt.Errorf("product %d (%s): %w", i, p.ID, err)
			}
			return err
		}
		p.UpdatedAt = now
	}
	return s.st.UpsertProducts(ctx, ps)
}

// UpsertLocations validates and writes locations.
func (s *Service) UpsertLocations(ctx context.Context, ls []*Location) error {
	now := s.o.Clock.Now()
	for i, l := range ls {
		if err := l.Validate(); err != nil {
			if len(ls) > 1 {
				return fmt.Errorf("location %d (%s): %w", i, l.ID, err)
			}
			return err
		}
		l.UpdatedAt = now
	}
	if err := s.st.UpsertLocations(ctx, ls); err != nil {
		return err
	}
	s.mu.Lock()
	s.locations = nil
	s.mu.Unlock()
	return nil
}

// allLocations returns every location by id, cached for LocationsTTL.
func (s *Service) allLocations(ctx context.Context) (map[string]*Location, error) {
	now := s.o.Clock.Now()
	s.mu.Lock()
	if s.locations != nil && now.Sub(s.loadedAt) < s.o.LocationsTTL {
		m := s.locations
		s.mu.Unlock()
		return m, nil
	}
	s.mu.Unlock()
	m := map[string]*Location{}
	after := ""
	for {
		page, err := s.st.ListLocations(ctx, after, 10000)
		if err != nil {
			return nil, err
		}
		for _, l := range page {
			m[l.ID] = l
		}
		if len(page) < 10000 {
			break
		}
		after = page[len(page)-1].ID
	}
	s.mu.Lock()
	s.locations, s.loadedAt = m, now
	s.mu.Unlock()
	return m, nil
}

// Nearby returns the limit locations nearest (lat, lon) where sku is
// available, nearest first. It reads one SKU's stock rows (one index
// range, at most one row per location) and sorts them by distance.
func (s *Service) Nearby(ctx context.Context, sku string, lat, lon float64, limit int) ([]Availability, error) {
	if sku == "" {
		return nil, invalid("sku", "is required")
	}
	if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return nil, invalid("lat", "coordinates must be within [-90, 90] and [-180, 180]")
	}
	levels, err := s.st.StockOf(ctx, sku)
	if err != nil {
		return nil, err
	}
	locs, err := s.allLocations(ctx)
	if err != nil {
		return nil, err
	}
	out := Nearest(levels, locs, lat, lon, limit)
	now := s.o.Clock.Now()
	for i := range out {
		out[i].OpenNow = out[i].Location.OpenAt(now)
	}
	return out, nil
}

// SetStock sets on hand and safety stock of rows (an import, a count).
func (s *Service) SetStock(ctx context.Context, levels []StockLevel) ([]StockChange, error) {
	for i, l := range levels {
		if l.SKU == "" || l.Location == "" {
			return nil, invalid(fmt.Sprintf("stock[%d]", i), "sku and location_id are required")
		}
		if l.OnHand < 0 || l.Safety < 0 {
			return nil, invalid(fmt.Sprintf("stock[%d]", i), "on_hand and safety must be >= 0")
		}
	}
	now := s.o.Clock.Now()
	changes, err := s.st.SetStock(ctx, levels, now, s.stockOutbox(now))
	if err != nil {
		return nil, err
	}
	s.kick()
	return changes, nil
}

// AdjustStock applies on-hand deltas once per key. Without a key, one is
// drawn: the adjustment is then not protected against a client's retry.
func (s *Service) AdjustStock(ctx context.Context, key, reason string, deltas []Delta) ([]StockChange, bool, error) {
	if len(deltas) == 0 {
		return nil, false, invalid("deltas", "at least one delta is required")
	}
	for i, d := range deltas {
		if d.SKU == "" || d.Location == "" || d.OnHand == 0 {
			return nil, false, invalid(fmt.Sprintf("deltas[%d]", i), "sku, location_id and a non-zero delta are required")
		}
	}
	if key == "" {
		key = newID("adj_")
	}
	now := s.o.Clock.Now()
	changes, applied, err := s.st.AdjustStock(ctx, Adjustment{Key: key, Reason: reason, Deltas: deltas, At: now}, s.stockOutbox(now))
	if err != nil {
		return nil, false, err
	}
	s.kick()
	return changes, applied, nil
}

// ReserveRequest asks to hold stock for a customer (reserve in store).
type ReserveRequest struct {
	SKU      string        `json:"sku"`
	Location string        `json:"location_id"`
	Quantity int64         `json:"quantity"`
	Customer Customer      `json:"customer"`
	Channel  string        `json:"channel"` // where it was asked for; default web
	TTL      time.Duration `json:"-"`
}

// Reserve holds stock for a customer until it is released or expires.
func (s *Service) Reserve(ctx context.Context, req ReserveRequest) (*Reservation, error) {
	if req.SKU == "" || req.Location == "" {
		return nil, invalid("sku", "sku and location_id are required")
	}
	if req.Quantity <= 0 {
		return nil, invalid("quantity", "must be at least 1")
	}
	ttl := req.TTL
	if ttl <= 0 {
		ttl = s.o.ReservationTTL
	}
	now := s.o.Clock.Now()
	r := &Reservation{ID: newID("res_"), SKU: req.SKU, Location: req.Location, Quantity: req.Quantity,
		Customer: req.Customer, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	channel := req.Channel
	if channel == "" {
		channel = "web"
	}
	_, err := s.st.Reserve(ctx, []*Reservation{r}, s.outbox(func(e Effect) []*event.Event {
		return append(StockEvents(e.Changes, s.o.LowStock, now), ReservationEvent(r, channel, now))
	}))
	if err != nil {
		return nil, err
	}
	s.kick()
	return r, nil
}

// Release gives a reservation's stock back.
func (s *Service) Release(ctx context.Context, id string) (*Reservation, error) {
	now := s.o.Clock.Now()
	r, _, err := s.st.EndReservation(ctx, id, ReservationReleased, now, s.outbox(func(e Effect) []*event.Event {
		return append(StockEvents(e.Changes, s.o.LowStock, now), ReservationEvent(e.Reservations[0], ChannelCommerce, now))
	}))
	if err != nil {
		return nil, err
	}
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
		rs, _, err := s.st.ExpireReservations(ctx, now, batch, s.outbox(func(e Effect) []*event.Event {
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
		total += len(rs)
		if len(rs) < batch {
			return total, nil
		}
	}
}

// isConflict reports a lost optimistic race.
func isConflict(err error) bool { return errors.Is(err, ErrConflict) }
