package commerce

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// The commerce rules (stock arithmetic, clamping and shortfall, what
// ending a reservation gives back, what an order's transition does to
// its reservations, carts' versions) are written once, in writes.go and
// orderwrites.go. An engine does not know them: it opens a transaction
// (Transactor) and reads and writes rows in it (Tx), with the locking it
// needs. River's drivers are the model: the job state machine lives in
// the client, a driver runs row operations inside the client's
// transaction.

// Transactor opens the store's write transactions for the commerce rules.
type Transactor interface {
	// CommerceTx runs fn in one write transaction: committed when fn
	// returns nil, rolled back otherwise. fn runs its statements with the
	// ctx it is given; what names the write in the errors that are not
	// the rules' own (those come back as fn returned them).
	CommerceTx(ctx context.Context, what string, fn func(ctx context.Context, tx Tx) error) error
	// SharedCommerceTx is CommerceTx for small writes that many clients
	// make at once (reservations). An engine may run concurrent calls in
	// one transaction, each in a savepoint of its own that is rolled back
	// alone when its fn fails; each call returns once the transaction
	// holding its write has committed.
	SharedCommerceTx(ctx context.Context, what string, fn func(ctx context.Context, tx Tx) error) error
}

// Tx is one write transaction, as the commerce rules see it: row
// operations on stock, reservations, orders, returns, carts, idempotency
// keys and the outbox. A row operation decides nothing. An insert that
// would duplicate a key, and a conditional write whose condition does not
// hold, return the engine's conflict error (it matches ErrConflict and
// store.ErrConflict alike), unwrapped; a read of a missing row returns
// its not-found error (ErrNotFound) or found false.
type Tx interface {
	StockRows
	ReservationRows
	OrderRows
	CartRows
	// InsertKey stores an idempotency key with the id of what it created.
	InsertKey(ctx context.Context, k *IdempotencyKey, id string, at time.Time) error
	// WriteOutbox appends events to the outbox, in their order.
	WriteOutbox(ctx context.Context, evs []*event.Event) error
}

// StockRows are the row operations on stock rows and adjustment keys.
type StockRows interface {
	// LockStock reads the row of (sku, location) so that no other
	// transaction changes it before this one ends (a row lock, or the
	// single writer). With create, a missing row may be created empty
	// first, updated at at; one that is still missing comes back with
	// found false, and WriteStock creates it.
	LockStock(ctx context.Context, sku, location string, create bool, at time.Time) (l StockLevel, found bool, err error)
	// WriteStock writes a row read by LockStock, with the values given.
	WriteStock(ctx context.Context, l StockLevel) error
	// HoldStock adds qty to the row's reserved units and one to its
	// version, at, only if qty units are available (StockLevel.Available,
	// checked by the database on the row as it is when written, so that a
	// hot row is held for one statement only). held is false, and nothing
	// changed, when they are not (or there is no row).
	HoldStock(ctx context.Context, sku, location string, qty int64, at time.Time) (after StockLevel, held bool, err error)
	// StockRow reads a row without locking it.
	StockRow(ctx context.Context, sku, location string) (l StockLevel, found bool, err error)
	// ClaimAdjustment claims a.Key for this transaction, or reports that
	// an adjustment holds it already (taken) with that adjustment's
	// fingerprint ("" if it had none). A concurrent claim of the same key
	// waits for this transaction, then finds it taken.
	ClaimAdjustment(ctx context.Context, a Adjustment) (prior string, taken bool, err error)
	// RecordAdjustment records the claimed adjustment a with its detail
	// (a JSON object), in the transaction that applied it.
	RecordAdjustment(ctx context.Context, a Adjustment, detail []byte) error
}

// ReservationRows are the row operations on reservations.
type ReservationRows interface {
	// HoldsFirst says in which order a reservation is written. true: hold
	// the stock, then insert the reservation (one writer at a time, where
	// the order moves no lock and a refused reservation writes nothing);
	// false: insert it first, so that the stock row, which every
	// reservation of a hot SKU waits on, stays locked only from its update
	// to the commit. Measured: each engine is 15-20 % faster, or more, in
	// its order (docs/benchmarks.md).
	HoldsFirst() bool
	// InsertReservation stores a new reservation as it is.
	InsertReservation(ctx context.Context, r *Reservation) error
	// Reservation reads one reservation.
	Reservation(ctx context.Context, id string) (*Reservation, error)
	// EndReservation sets an active reservation's status and end time;
	// the conflict error when it is no longer active.
	EndReservation(ctx context.Context, id, status string, at time.Time) error
	// DueReservations returns up to limit active reservations expiring at
	// or before now, soonest first, leaving out those another transaction
	// is ending.
	DueReservations(ctx context.Context, now time.Time, limit int) ([]*Reservation, error)
	// OrderReservations returns an order's active reservations in (SKU,
	// location) order.
	OrderReservations(ctx context.Context, orderID string) ([]*Reservation, error)
}

// OrderRows are the row operations on orders and returns.
type OrderRows interface {
	// InsertOrder stores a new order.
	InsertOrder(ctx context.Context, o *Order) error
	// UpdateOrder writes o if its stored version is still prev; the
	// conflict error otherwise.
	UpdateOrder(ctx context.Context, o *Order, prev int64) error
	// InsertReturn stores a new return.
	InsertReturn(ctx context.Context, r *Return) error
}

// CartRows are the row operations on carts.
type CartRows interface {
	// LockCart reads a customer's cart so that no other transaction
	// changes it before this one ends; ErrNotFound when there is none.
	LockCart(ctx context.Context, customer string) (*Cart, error)
	// WriteCart writes c if its stored version is still prev (0: if no
	// cart is stored); the conflict error otherwise.
	WriteCart(ctx context.Context, c *Cart, prev int64) error
	// DeleteCart deletes a customer's cart.
	DeleteCart(ctx context.Context, customer string) error
}
