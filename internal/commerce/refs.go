package commerce

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/problem"
)

// Kinds of things an input can name that must exist.
const (
	RefSKU      = "sku"
	RefLocation = "location"
)

// UnknownError says that an input names a SKU the catalog does not have or
// a location that does not exist. It matches ErrNotFound, and is also a
// *problem.ValidationError of the field (errors.As finds one), so that
// callers that reject bad input reject it too.
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

// Unwrap makes the error match ErrNotFound and a *problem.ValidationError.
func (e *UnknownError) Unwrap() []error {
	return []error{ErrNotFound, problem.Invalid(e.Field, e.reason())}
}

// Describe reports a 404 of code unknown_sku or unknown_location, naming
// the input's field and the id.
func (e *UnknownError) Describe() problem.Problem {
	name := "sku"
	if e.Kind == RefLocation {
		name = "location_id"
	}
	return problem.Problem{Kind: problem.KindNotFound, Code: "unknown_" + e.Kind, Message: e.Error(),
		Details: map[string]string{"field": e.Field, name: e.ID, "kind": e.Kind, "id": e.ID}}
}

// ref is a SKU and a location an input names, with the names of its fields.
type ref struct {
	skuField, sku string
	locField, loc string
}

// knownCache remembers for LocationsTTL the SKUs and locations a check
// found, so that the reservations of a hot SKU cost no query. It keeps
// existence only, never absence: what is created is seen at once. A SKU
// removed from its product through this service is forgotten at once;
// through another process, it may still be accepted for that long (and
// is counted nowhere: reads check again).
type knownCache struct {
	mu   sync.Mutex
	seen map[string]time.Time // "s"+SKU, "l"+location → when found
}

// maxKnown bounds the cache; it starts over when full.
const maxKnown = 100_000

func (c *knownCache) has(id string, now time.Time, ttl time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.seen[id]
	return ok && now.Sub(at) < ttl
}

func (c *knownCache) add(ids []string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil || len(c.seen)+len(ids) > maxKnown {
		c.seen = map[string]time.Time{}
	}
	for _, id := range ids {
		c.seen[id] = now
	}
}

// forgetSKUs drops the SKUs, after products were rewritten (a variant may
// be gone).
func (c *knownCache) forgetSKUs() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.seen {
		if id[0] == 's' {
			delete(c.seen, id)
		}
	}
}

// unknownRefs returns, for each ref, nil or the *UnknownError of its SKU
// (checked first) or location. One store query answers for all those the
// cache does not know.
func (s *Service) unknownRefs(ctx context.Context, refs []ref) ([]error, error) {
	now, ttl := s.o.Clock.Now(), s.o.LocationsTTL
	var skus, locs []string
	ask := map[string]bool{}
	for _, r := range refs {
		if r.sku != "" && !ask["s"+r.sku] && !s.known.has("s"+r.sku, now, ttl) {
			ask["s"+r.sku], skus = true, append(skus, r.sku)
		}
		if r.loc != "" && !ask["l"+r.loc] && !s.known.has("l"+r.loc, now, ttl) {
			ask["l"+r.loc], locs = true, append(locs, r.loc)
		}
	}
	knownSKUs, knownLocs := map[string]bool{}, map[string]bool{}
	if len(skus)+len(locs) > 0 {
		var err error
		if knownSKUs, knownLocs, err = s.st.KnownRefs(ctx, skus, locs); err != nil {
			return nil, fmt.Errorf("commerce: check SKUs and locations: %w", err)
		}
		var found []string
		for id := range knownSKUs {
			found = append(found, "s"+id)
		}
		for id := range knownLocs {
			found = append(found, "l"+id)
		}
		s.known.add(found, now)
	}
	out := make([]error, len(refs))
	for i, r := range refs {
		switch {
		case r.sku != "" && ask["s"+r.sku] && !knownSKUs[r.sku]:
			out[i] = &UnknownError{Field: r.skuField, Kind: RefSKU, ID: r.sku}
		case r.loc != "" && ask["l"+r.loc] && !knownLocs[r.loc]:
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
