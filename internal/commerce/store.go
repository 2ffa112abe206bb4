package commerce

import (
	"context"
	"time"
)

// CatalogStore keeps products and locations.
type CatalogStore interface {
	// UpsertProducts writes products whole, in one transaction, and
	// indexes their SKUs.
	UpsertProducts(ctx context.Context, ps []*Product) error
	Product(ctx context.Context, id string) (*Product, error)
	// ProductsBySKU returns the products holding skus, keyed by SKU; SKUs
	// of no product are absent.
	ProductsBySKU(ctx context.Context, skus []string) (map[string]*Product, error)
	// ListProducts returns up to limit products with ids above after.
	ListProducts(ctx context.Context, after string, limit int) ([]*Product, error)
	UpsertLocations(ctx context.Context, ls []*Location) error
	Location(ctx context.Context, id string) (*Location, error)
	// ListLocations returns up to limit locations with ids above after.
	ListLocations(ctx context.Context, after string, limit int) ([]*Location, error)
	// KnownRefs returns which of skus the catalog has (some product has
	// them as a variant) and which of locations exist.
	KnownRefs(ctx context.Context, skus, locations []string) (knownSKUs, knownLocations map[string]bool, err error)
}

// StockStore keeps stock rows and reservations. Every method that changes
// several rows changes them in (SKU, location) order in one transaction,
// and returns the rows' changes. Every method that changes state takes the
// Events of the change and writes them to the outbox in its transaction.
type StockStore interface {
	// SetStock sets on hand and safety of rows (an import, a count),
	// creating them; reserved is kept. A row set below its reservations
	// is refused with a *StockConstraintError.
	SetStock(ctx context.Context, levels []StockLevel, at time.Time, evs Events) ([]StockChange, error)
	// AdjustStock applies a keyed adjustment. applied is false, and
	// nothing changes, when the key was applied before (with another
	// fingerprint, when both have one: a *KeyReuseError).
	AdjustStock(ctx context.Context, a Adjustment, evs Events) (changes []StockChange, applied bool, err error)
	// StockOf returns every row of one SKU (one index range).
	StockOf(ctx context.Context, sku string) ([]StockLevel, error)
	// Reserve holds stock for every reservation, all or none, with the
	// reservations' ids already set, and stores their idempotency keys
	// (a key already stored fails the call with ErrConflict). It fails with *InsufficientStockError
	// when a location has less available than asked.
	Reserve(ctx context.Context, rs []*Reservation, evs Events) ([]StockChange, error)
	// EndReservation releases (or consumes) an active reservation.
	EndReservation(ctx context.Context, id, status string, at time.Time, evs Events) (*Reservation, []StockChange, error)
	Reservation(ctx context.Context, id string) (*Reservation, error)
	ListReservations(ctx context.Context, q ReservationQuery) ([]*Reservation, error)
	// ExpireReservations releases up to limit active reservations whose
	// expiry is at or before now.
	ExpireReservations(ctx context.Context, now time.Time, limit int, evs Events) ([]*Reservation, []StockChange, error)
}

// OrderStore keeps orders, returns and carts.
type OrderStore interface {
	// CreateOrder stores a new order and holds its reservations, all in
	// one transaction: either the order exists with its stock held or
	// nothing changed. Its idempotency key is stored with it (a key
	// already stored fails the call with ErrConflict).
	CreateOrder(ctx context.Context, o *Order, rs []*Reservation, evs Events) ([]StockChange, error)
	Order(ctx context.Context, id string) (*Order, error)
	ListOrders(ctx context.Context, q OrderQuery) ([]*Order, error)
	// UpdateOrder writes o if its stored version is still prev (else
	// ErrConflict) and applies effect to the order's active reservations.
	UpdateOrder(ctx context.Context, o *Order, prev int64, effect StockEffect, evs Events) ([]StockChange, error)
	// RecordReturn stores r with its idempotency key, writes o (checked
	// against prev like UpdateOrder) and puts the sellable lines back in
	// stock at r's location.
	RecordReturn(ctx context.Context, r *Return, o *Order, prev int64, evs Events) ([]StockChange, error)
	Returns(ctx context.Context, orderID string) ([]*Return, error)
	// Return returns a return by id.
	Return(ctx context.Context, id string) (*Return, error)
	// Cart returns a customer's cart, empty (Version 0) if none was saved.
	Cart(ctx context.Context, customer string) (*Cart, error)
	// SaveCart writes c if its stored version is still c.Version (else
	// ErrConflict), and increments c.Version.
	SaveCart(ctx context.Context, c *Cart, evs Events) error
	// SaveCarts writes several carts as SaveCart does, in one transaction
	// (the log consumer's changes of a batch): all or none, ErrConflict if
	// any version moved. evs is called once per cart.
	SaveCarts(ctx context.Context, cs []*Cart, evs Events) error
	// MergeCart folds the cart of from into the cart of into with merge,
	// and deletes from's cart, in one transaction. merged is false when
	// from had no cart.
	MergeCart(ctx context.Context, from, into string, merge func(into, from *Cart) *Cart, evs Events) (c *Cart, merged bool, err error)
}

// Store is everything commerce keeps.
type Store interface {
	CatalogStore
	StockStore
	OrderStore
	OutboxStore
	KeyStore
}
