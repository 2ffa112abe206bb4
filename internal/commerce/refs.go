package commerce

import (
	"context"
	"fmt"
	"slices"
)

// Kinds of things an input can name that must exist.
const (
	RefSKU      = "sku"
	RefLocation = "location"
)

// UnknownError says that an input names a SKU the catalog does not have or
// a location that does not exist. It matches ErrNotFound, and is also a
// *ValidationError of the field (errors.As finds one), so that callers
// that reject bad input reject it too.
type UnknownError struct {
	Field string // the input naming it: "sku", "deltas[2].location_id"
	Kind  string // RefSKU or RefLocation
	ID    string
}

func (e *UnknownError) reason() string {
	if e.Kind == RefSKU {
		return fmt.Sprintf("no SKU %s in the catalog: add it to a product first (PUT /api/v1/products/{id}, or parcours catalog import)", quoteStart(e.ID))
	}
	return fmt.Sprintf("no location %s: create it first (PUT /api/v1/locations/{id}, or parcours locations import)", quoteStart(e.ID))
}

func (e *UnknownError) Error() string { return "commerce: " + e.Field + ": " + e.reason() }

// Unwrap makes the error match ErrNotFound and a *ValidationError.
func (e *UnknownError) Unwrap() []error {
	return []error{ErrNotFound, &ValidationError{Field: e.Field, Reason: e.reason()}}
}

// ref is a SKU and a location an input names, with the names of its fields.
type ref struct {
	skuField, sku string
	locField, loc string
}

// unknownRefs returns, for each ref, nil or the *UnknownError of its SKU
// (checked first) or location. One store query answers for all of them.
func (s *Service) unknownRefs(ctx context.Context, refs []ref) ([]error, error) {
	var skus, locs []string
	seen := map[string]bool{}
	for _, r := range refs {
		if r.sku != "" && !seen["s"+r.sku] {
			seen["s"+r.sku], skus = true, append(skus, r.sku)
		}
		if r.loc != "" && !seen["l"+r.loc] {
			seen["l"+r.loc], locs = true, append(locs, r.loc)
		}
	}
	knownSKUs, knownLocs, err := s.st.KnownRefs(ctx, skus, locs)
	if err != nil {
		return nil, fmt.Errorf("commerce: check SKUs and locations: %w", err)
	}
	out := make([]error, len(refs))
	for i, r := range refs {
		switch {
		case r.sku != "" && !knownSKUs[r.sku]:
			out[i] = &UnknownError{Field: r.skuField, Kind: RefSKU, ID: r.sku}
		case r.loc != "" && !knownLocs[r.loc]:
			out[i] = &UnknownError{Field: r.locField, Kind: RefLocation, ID: r.loc}
		}
	}
	return out, nil
}

// checkRefs returns the first unknown SKU or location of refs, in order.
func (s *Service) checkRefs(ctx context.Context, refs ...ref) error {
	errs, err := s.unknownRefs(ctx, refs)
	if err != nil {
		return err
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// CheckStockRefs tells, for each row, whether its SKU is in the catalog
// and its location exists: nil, or an *UnknownError. An import calls it
// to reject those rows with their own lines, and write the others.
func (s *Service) CheckStockRefs(ctx context.Context, levels []StockLevel) ([]error, error) {
	refs := make([]ref, len(levels))
	for i, l := range levels {
		refs[i] = ref{"sku", l.SKU, "location_id", l.Location}
	}
	return s.unknownRefs(ctx, refs)
}

// Stock returns the stock rows of sku that count: none when the catalog
// does not have the SKU, and only those at locations that exist. Rows
// written before stock of unknown SKUs and locations was refused are kept
// in the store, but nothing counts them; they count again if the SKU or
// the location is created.
//
// An id that is not a valid SKU (see CheckID) has no stock either: it
// can be in no catalog.
func (s *Service) Stock(ctx context.Context, sku string) ([]StockLevel, error) {
	if checkID("sku", sku) != nil {
		return nil, nil
	}
	levels, err := s.st.StockOf(ctx, sku)
	if err != nil {
		return nil, err
	}
	locs := make([]string, len(levels))
	for i, l := range levels {
		locs[i] = l.Location
	}
	knownSKUs, knownLocs, err := s.st.KnownRefs(ctx, []string{sku}, locs)
	if err != nil {
		return nil, fmt.Errorf("commerce: check SKUs and locations: %w", err)
	}
	if !knownSKUs[sku] {
		return nil, nil
	}
	return slices.DeleteFunc(levels, func(l StockLevel) bool { return !knownLocs[l.Location] }), nil
}

// KnownSKU reports whether the catalog has sku.
func (s *Service) KnownSKU(ctx context.Context, sku string) (bool, error) {
	known, _, err := s.st.KnownRefs(ctx, []string{sku}, nil)
	return known[sku], err
}
