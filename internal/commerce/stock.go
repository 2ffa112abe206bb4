package commerce

import (
	"github.com/parcours/parcours/internal/place"

	"cmp"
	"fmt"
	"slices"
	"time"
)

// StockLevel is the stock of one SKU at one location.
type StockLevel struct {
	SKU      string `json:"sku"`
	Location string `json:"location_id"`
	OnHand   int64  `json:"on_hand"`
	Reserved int64  `json:"reserved"`
	Safety   int64  `json:"safety"`
	// Version counts the row's changes; stock events use it in their
	// message ids.
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Available is what can still be promised: on hand − reserved − safety.
func (s StockLevel) Available() int64 { return s.OnHand - s.Reserved - s.Safety }

// StockChange is one stock row before and after a write. The engines
// return one per row they change, and the service turns availability
// crossings into Back In Stock and Low Stock events.
type StockChange struct {
	Before, After StockLevel
}

// Delta changes the on-hand stock of one SKU at one location.
type Delta struct {
	SKU      string `json:"sku"`
	Location string `json:"location_id"`
	OnHand   int64  `json:"delta"`
}

// Adjustment is a keyed set of on-hand changes: applying the same key twice
// changes nothing the second time.
type Adjustment struct {
	// Key makes the adjustment idempotent: "pos-<seq>" for a till sale,
	// the client's idempotency key through the API.
	Key string
	// Fingerprint, if set, is the request's: the same key with another
	// fingerprint is refused with a *KeyReuseError instead of being
	// ignored.
	Fingerprint string
	Deltas      []Delta
	Reason      string
	// Clamp is for facts that already happened (a till sale): a decrement
	// larger than the free stock stops at what is reserved instead of
	// failing, and the shortfall is recorded with the adjustment.
	Clamp bool
	At    time.Time
}

// SortDeltas orders deltas by (SKU, location): every writer locks stock
// rows in this order, so that two multi-line writes never deadlock.
func SortDeltas(d []Delta) {
	slices.SortFunc(d, func(a, b Delta) int {
		return cmp.Or(cmp.Compare(a.SKU, b.SKU), cmp.Compare(a.Location, b.Location))
	})
}

// Reservation statuses.
const (
	ReservationActive   = "active"
	ReservationReleased = "released"
	ReservationExpired  = "expired"
	ReservationConsumed = "consumed" // the goods left with the customer
)

// ReservationStatuses lists the reservation statuses.
var ReservationStatuses = []string{ReservationActive, ReservationReleased, ReservationExpired, ReservationConsumed}

// Reservation holds stock for a customer (reserve in store) or an order
// (click & collect, shipping) until it is consumed, released or expires.
type Reservation struct {
	ID        string    `json:"id"`
	SKU       string    `json:"sku"`
	Location  string    `json:"location_id"`
	Quantity  int64     `json:"quantity"`
	Status    string    `json:"status"`
	OrderID   string    `json:"order_id,omitempty"`
	Customer  Customer  `json:"customer"`
	ExpiresAt time.Time `json:"expires_at,omitzero"` // zero: held until the order moves on
	CreatedAt time.Time `json:"created_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// Idem is the client's idempotency key, if any: the engines store it
	// with the reservation.
	Idem *IdempotencyKey `json:"-"`
}

// SortReservations orders reservations by (SKU, location), the lock order.
func SortReservations(rs []*Reservation) {
	slices.SortFunc(rs, func(a, b *Reservation) int {
		return cmp.Or(cmp.Compare(a.SKU, b.SKU), cmp.Compare(a.Location, b.Location))
	})
}

// ReservationQuery selects reservations, by id after After.
type ReservationQuery struct {
	SKU      string
	Location string
	OrderID  string
	Status   string
	After    string
	Limit    int
}

// Availability is a location that has a SKU available, and how far it is.
type Availability struct {
	Location   *Location  `json:"location"`
	Stock      StockLevel `json:"stock"`
	Available  int64      `json:"available"`
	DistanceKm float64    `json:"distance_km"`
	OpenNow    bool       `json:"open_now"` // by its opening hours, in its time zone
}

// Nearest keeps the limit stores of levels closest to (lat, lon) that
// have the SKU available, nearest first; warehouses, where customers do
// not go, are left out. levels and locations come from the
// store: one SKU's rows (one index range) and every location.
func Nearest(levels []StockLevel, locations map[string]*Location, lat, lon float64, limit int) []Availability {
	out := make([]Availability, 0, len(levels))
	for _, s := range levels {
		l, ok := locations[s.Location]
		if !ok || l.Kind == KindWarehouse || s.Available() <= 0 {
			continue
		}
		out = append(out, Availability{Location: l, Stock: s, Available: s.Available(), DistanceKm: place.DistanceKm(lat, lon, l.Lat, l.Lon)})
	}
	slices.SortFunc(out, func(a, b Availability) int {
		return cmp.Or(cmp.Compare(a.DistanceKm, b.DistanceKm), cmp.Compare(a.Location.ID, b.Location.ID))
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		out[i].DistanceKm = float64(int64(out[i].DistanceKm*10+0.5)) / 10
	}
	return out
}

// SortLevels orders stock rows by (SKU, location), the lock order.
func SortLevels(ls []StockLevel) {
	slices.SortFunc(ls, func(a, b StockLevel) int {
		return cmp.Or(cmp.Compare(a.SKU, b.SKU), cmp.Compare(a.Location, b.Location))
	})
}

// ApplyDelta adds delta to the row's on-hand stock. With clamp (a till
// sale, which already happened) a decrement below what is reserved stops
// there, and the shortfall is returned. A sum beyond MaxQuantity (or one
// that would wrap around) is refused with a *StockConstraintError.
func (l *StockLevel) ApplyDelta(delta int64, clamp bool) (shortfall int64, err error) {
	sum := l.OnHand + delta
	if (delta > 0 && (sum < l.OnHand || sum > MaxQuantity)) || (delta < 0 && sum > l.OnHand) {
		return 0, &StockConstraintError{SKU: l.SKU, Location: l.Location,
			Reason: fmt.Sprintf("on hand %d %+d would exceed the largest stock, %d", l.OnHand, delta, int64(MaxQuantity))}
	}
	l.OnHand = sum
	if clamp && l.OnHand < l.Reserved {
		shortfall, l.OnHand = l.Reserved-l.OnHand, l.Reserved
	}
	return shortfall, nil
}

// Unreserve takes qty units off the row's reservations: they go back to
// sale, or, when consume is set (the goods left with the customer), out
// of on hand too.
func (l *StockLevel) Unreserve(qty int64, consume bool) {
	l.Reserved -= qty
	if consume {
		l.OnHand -= qty
	}
}

// CheckLevel is the stock table's CHECK constraint, with an error that
// says which rule a write would break. Every stock write checks it before
// writing (changeStock).
func CheckLevel(l StockLevel) error {
	switch {
	case l.OnHand < 0:
		return &StockConstraintError{SKU: l.SKU, Location: l.Location, Reason: fmt.Sprintf("on hand would be %d: stock never goes negative", l.OnHand)}
	case l.OnHand < l.Reserved:
		return &StockConstraintError{SKU: l.SKU, Location: l.Location, Reason: fmt.Sprintf("on hand would be %d, below the %d reserved", l.OnHand, l.Reserved)}
	case l.Safety < 0 || l.Reserved < 0:
		return &StockConstraintError{SKU: l.SKU, Location: l.Location, Reason: "safety and reserved cannot be negative"}
	}
	return nil
}
