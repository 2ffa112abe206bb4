package commerce

import (
	"github.com/parcours/parcours/internal/place"

	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // locations name IANA time zones; the binary must know them everywhere
)

// Product is one entry of the catalog: what every channel shows.
type Product struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Brand       string            `json:"brand,omitempty"`
	Categories  []string          `json:"categories,omitempty"` // most specific last: ["Shoes", "Sneakers"]
	Attributes  map[string]string `json:"attributes,omitempty"`
	Media       []string          `json:"media,omitempty"` // image and video URLs
	Variants    []Variant         `json:"variants"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// Variant is a sellable unit: one SKU of a product.
type Variant struct {
	SKU        string            `json:"sku"`
	Name       string            `json:"name,omitempty"`
	Price      float64           `json:"price"`
	Currency   string            `json:"currency"`
	Attributes map[string]string `json:"attributes,omitempty"` // size, colour...
	Media      []string          `json:"media,omitempty"`
}

// Category returns the product's most specific category, "" if none.
func (p *Product) Category() string {
	if len(p.Categories) == 0 {
		return ""
	}
	return p.Categories[len(p.Categories)-1]
}

// Variant returns the variant with the SKU, nil if the product has none.
func (p *Product) Variant(sku string) *Variant {
	for i := range p.Variants {
		if p.Variants[i].SKU == sku {
			return &p.Variants[i]
		}
	}
	return nil
}

// Validate checks the product and normalises currencies to upper case.
func (p *Product) Validate() error {
	if err := CheckID("id", p.ID); err != nil {
		return err
	}
	if strings.TrimSpace(p.Name) == "" {
		return invalid("name", "is required")
	}
	if len(p.Variants) == 0 {
		return invalid("variants", "a product needs at least one variant (its SKU)")
	}
	seen := map[string]bool{}
	for i := range p.Variants {
		v := &p.Variants[i]
		field := fmt.Sprintf("variants[%d]", i)
		if err := CheckID(field+".sku", v.SKU); err != nil {
			return err
		}
		if seen[v.SKU] {
			return invalid(field+".sku", "%q appears twice", v.SKU)
		}
		seen[v.SKU] = true
		if v.Price < 0 || math.IsNaN(v.Price) || math.IsInf(v.Price, 0) {
			return invalid(field+".price", "must be a number >= 0")
		}
		v.Currency = strings.ToUpper(strings.TrimSpace(v.Currency))
		if len(v.Currency) != 3 {
			return invalid(field+".currency", "must be an ISO 4217 code such as EUR")
		}
	}
	return nil
}

// Location kinds.
const (
	KindStore     = "store"
	KindWarehouse = "warehouse"
)

// Capabilities a location can offer.
const (
	CapClickCollect   = "click_collect"
	CapShipFromStore  = "ship_from_store"
	CapReturns        = "returns"
	CapReserveInStore = "reserve_in_store"
)

var capabilities = []string{CapClickCollect, CapShipFromStore, CapReturns, CapReserveInStore}

// Location is a store or a warehouse: place.Location, the one model of
// a physical place, which profiles, segments and journeys read too.
type Location = place.Location

// Address is a postal address.
type Address = place.Address

// ValidateLocation checks a location, and makes it a store when it has no
// kind.
func ValidateLocation(l *Location) error {
	if err := CheckID("id", l.ID); err != nil {
		return err
	}
	if strings.TrimSpace(l.Name) == "" {
		return invalid("name", "is required")
	}
	if l.Kind == "" {
		l.Kind = KindStore
	}
	if l.Kind != KindStore && l.Kind != KindWarehouse {
		return invalid("kind", "must be store or warehouse, not %q", l.Kind)
	}
	if l.Lat < -90 || l.Lat > 90 || l.Lon < -180 || l.Lon > 180 {
		return invalid("lat", "coordinates must be within [-90, 90] and [-180, 180]")
	}
	if l.TimeZone == "" {
		return invalid("time_zone", "is required: an IANA name such as Europe/Paris")
	}
	if _, err := time.LoadLocation(l.TimeZone); err != nil {
		return invalid("time_zone", "%q is not an IANA time zone", l.TimeZone)
	}
	for day, ranges := range l.OpeningHours {
		if !slices.Contains(place.Days, day) {
			return invalid("opening_hours", "%q is not a day: use mon, tue, wed, thu, fri, sat, sun", day)
		}
		for _, r := range ranges {
			if !validRange(r) {
				return invalid("opening_hours."+day, "%q is not a range such as 09:30-19:00", r)
			}
		}
	}
	for _, c := range l.Capabilities {
		if !slices.Contains(capabilities, c) {
			return invalid("capabilities", "%q is not one of %s", c, strings.Join(capabilities, ", "))
		}
	}
	return nil
}

func validRange(r string) bool {
	from, to, ok := strings.Cut(r, "-")
	if !ok {
		return false
	}
	a, err1 := time.Parse("15:04", from)
	b, err2 := time.Parse("15:04", to)
	return err1 == nil && err2 == nil && a.Before(b)
}
