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
	w   Writes // the rules every change is written by, over st
	o   Options
	log *slog.Logger

	mu        sync.Mutex
	locations map[string]*Location
	loadedAt  time.Time
	known     knownCache // SKUs and locations found to exist

	wake    chan struct{} // a change committed events to the outbox
	relayMu sync.Mutex    // one delivery of the outbox at a time

	shortfalls shortfallLog // tills selling beyond the recorded stock
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
	o.Metrics.watchOutbox(st)
	return &Service{st: st, w: Writes{Store: st}, o: o, log: o.Logger, wake: make(chan struct{}, 1)}
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
	defer s.known.forgetSKUs() // after the write: a variant may be gone
	return s.st.UpsertProducts(ctx, ps)
}

// UpsertLocations validates and writes locations.
func (s *Service) UpsertLocations(ctx context.Context, ls []*Location) error {
	now := s.o.Clock.Now()
	for i, l := range ls {
		if err := ValidateLocation(l); err != nil {
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
// range, at most one row per location) and sorts them by distance. A SKU
// the catalog does not have is available nowhere.
func (s *Service) Nearby(ctx context.Context, sku string, lat, lon float64, limit int) ([]Availability, error) {
	if err := checkID("sku", sku); err != nil {
		return nil, err
	}
	if lat < -90 || lat > 90 || lon < -180 || lon > 180 {
		return nil, invalid("lat", "coordinates must be within [-90, 90] and [-180, 180]")
	}
	if known, err := s.KnownSKU(ctx, sku); err != nil || !known {
		return nil, err
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

// indexed names the field of element i of a list: "stock[3].sku", or
// "sku" alone when the list has one element (an API call about one row).
func indexed(list string, i, n int, field string) string {
	if n == 1 {
		return field
	}
	return fmt.Sprintf("%s[%d].%s", list, i, field)
}

// SetStock sets on hand and safety stock of rows (an import, a count).
// Every SKU must be in the catalog and every location exist
// (*UnknownError).
func (s *Service) SetStock(ctx context.Context, levels []StockLevel) ([]StockChange, error) {
	refs := make([]ref, len(levels))
	for i, l := range levels {
		f := func(name string) string { return indexed("stock", i, len(levels), name) }
		if err := firstOf(checkID(f("sku"), l.SKU), checkID(f("location_id"), l.Location),
			CheckQuantity(f("on_hand"), l.OnHand, 0), CheckQuantity(f("safety"), l.Safety, 0)); err != nil {
			return nil, err
		}
		refs[i] = ref{f("sku"), l.SKU, f("location_id"), l.Location}
	}
	if err := s.checkRefs(ctx, refs...); err != nil {
		return nil, err
	}
	now := s.o.Clock.Now()
	changes, err := s.w.SetStock(ctx, levels, now, s.stockOutbox(now))
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
	refs := make([]ref, len(deltas))
	for i, d := range deltas {
		f := func(name string) string { return fmt.Sprintf("deltas[%d].%s", i, name) }
		if err := firstOf(checkID(f("sku"), d.SKU), checkID(f("location_id"), d.Location)); err != nil {
			return nil, false, err
		}
		if d.OnHand == 0 || d.OnHand < -MaxQuantity || d.OnHand > MaxQuantity {
			return nil, false, invalid(f("delta"), "%d is out of range: a non-zero whole number from %d to %d", d.OnHand, -int64(MaxQuantity), int64(MaxQuantity))
		}
		refs[i] = ref{f("sku"), d.SKU, f("location_id"), d.Location}
	}
	a := Adjustment{Key: key, Reason: reason, Deltas: deltas}
	if key == "" {
		a.Key = newID("adj_")
	} else {
		if err := CheckKey("key", key); err != nil {
			return nil, false, err
		}
		k, err := newKey(ScopeAdjustment, key, struct {
			Reason string  `json:"reason"`
			Deltas []Delta `json:"deltas"`
		}{reason, deltas})
		if err != nil {
			return nil, false, err
		}
		a.Fingerprint = k.Fingerprint
	}
	if err := s.checkRefs(ctx, refs...); err != nil {
		return nil, false, err
	}
	a.At = s.o.Clock.Now()
	changes, applied, err := s.w.AdjustStock(ctx, a, s.stockOutbox(a.At))
	if err != nil {
		return nil, false, err
	}
	if !applied {
		// A retry: nothing changed; answer with the rows as they are.
		changes, err = s.currentRows(ctx, deltas)
		return changes, false, err
	}
	s.kick()
	return changes, applied, nil
}

// currentRows returns the stock rows deltas name, as they are, as
// changes from and to themselves.
func (s *Service) currentRows(ctx context.Context, deltas []Delta) ([]StockChange, error) {
	var out []StockChange
	rows := map[string][]StockLevel{}
	for _, d := range deltas {
		if _, ok := rows[d.SKU]; !ok {
			levels, err := s.st.StockOf(ctx, d.SKU)
			if err != nil {
				return nil, err
			}
			rows[d.SKU] = levels
		}
		for _, l := range rows[d.SKU] {
			if l.Location == d.Location {
				out = append(out, StockChange{Before: l, After: l})
			}
		}
	}
	return out, nil
}

// firstOf returns the first error that is not nil: checks are written
// in a row, and the first fault is reported with its own field.
func firstOf(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// isConflict reports a lost optimistic race.
func isConflict(err error) bool { return errors.Is(err, ErrConflict) }
