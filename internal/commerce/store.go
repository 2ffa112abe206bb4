package commerce

import "context"

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

// StockStore reads stock rows and reservations. They are written by
// Writes, the commerce rules, through the store's Transactor.
type StockStore interface {
	// StockOf returns every row of one SKU (one index range).
	StockOf(ctx context.Context, sku string) ([]StockLevel, error)
	Reservation(ctx context.Context, id string) (*Reservation, error)
	ListReservations(ctx context.Context, q ReservationQuery) ([]*Reservation, error)
}

// OrderStore reads orders, returns and carts. They are written by Writes.
type OrderStore interface {
	Order(ctx context.Context, id string) (*Order, error)
	ListOrders(ctx context.Context, q OrderQuery) ([]*Order, error)
	Returns(ctx context.Context, orderID string) ([]*Return, error)
	// Return returns a return by id.
	Return(ctx context.Context, id string) (*Return, error)
	// Cart returns a customer's cart, empty (Version 0) if none was saved.
	Cart(ctx context.Context, customer string) (*Cart, error)
}

// Store is everything commerce keeps: what it reads, and the
// transactions its rules (Writes) write in.
type Store interface {
	CatalogStore
	StockStore
	OrderStore
	OutboxStore
	KeyStore
	Transactor
}
