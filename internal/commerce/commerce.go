// Package commerce is the retail side of Parcours: the catalog, the stores
// and warehouses, stock per (SKU, location) with reservations that never
// oversell, orders on any channel with an explicit status machine, returns
// on any channel, and one cart per customer.
//
// Every state change enters the event log as one of Parcours' own events
// (source SourceID, channel profile.InternalChannel) carrying the
// customer's identifiers, so that unify attaches it to the unified profile
// and journeys and timelines see it. Message ids are deterministic, so that
// doing the same thing twice appends nothing twice. The events are written
// to the store's outbox in the change's own transaction and relayed to the
// log from there (see Events and Service.RunRelay), so none is lost.
//
// The package owns the interfaces it needs (Store, Sink); the store engines
// implement Store and pass the conformance suite in store/storetest.
package commerce

import (
	"fmt"

	"github.com/parcours/parcours/internal/problem"
)

// SourceID is the source of Parcours' own events. It equals unify.SourceID
// (unify depends on store, which depends on this package, so the constant
// is repeated here; a test checks that they agree).
const SourceID = "src_parcours"

// ErrNotFound is what a missing product, location, order, reservation or
// return matches: problem.ErrNotFound, which the engines' errors match.
var ErrNotFound = problem.ErrNotFound

// ErrConflict is what a write that lost a race (the order changed since it
// was read) or would duplicate an id matches: problem.ErrConflict.
var ErrConflict = problem.ErrConflict

// invalid returns the *problem.ValidationError of an input's field.
func invalid(field, format string, args ...any) error {
	return problem.Invalidf(field, format, args...)
}

// InsufficientStockError says that a reservation or an order line asked
// for more than a location has available.
type InsufficientStockError struct {
	SKU       string
	Location  string
	Requested int64
	Available int64 // at the time of the refusal; -1 when the SKU is not stocked there
}

// Describe reports the SKU, the location, what was asked and what is there.
func (e *InsufficientStockError) Describe() problem.Problem {
	return problem.Problem{Kind: problem.KindConflict, Code: "insufficient_stock", Message: e.Error(), Details: map[string]any{
		"sku": e.SKU, "location_id": e.Location, "requested": e.Requested, "available": max(0, e.Available)}}
}

func (e *InsufficientStockError) Error() string {
	if e.Available < 0 {
		return fmt.Sprintf("commerce: %s is not stocked at %s", e.SKU, e.Location)
	}
	return fmt.Sprintf("commerce: %d × %s requested at %s, %d available", e.Requested, e.SKU, e.Location, e.Available)
}

// StockConstraintError says that an adjustment would take on-hand stock
// below zero or below what is reserved.
type StockConstraintError struct {
	SKU, Location string
	Reason        string
}

// Describe reports the SKU and the location.
func (e *StockConstraintError) Describe() problem.Problem {
	return problem.Problem{Kind: problem.KindConflict, Code: "stock_constraint", Message: e.Error(), Details: map[string]any{"sku": e.SKU, "location_id": e.Location}}
}

func (e *StockConstraintError) Error() string {
	return fmt.Sprintf("commerce: stock of %s at %s: %s", e.SKU, e.Location, e.Reason)
}
