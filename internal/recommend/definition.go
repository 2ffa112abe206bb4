package recommend

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/parcours/parcours/internal/problem"
)

// The strategies a definition can use.
const (
	// StrategyPersonalised blends the customer's recent items ×
	// item-to-item similarity with what they viewed and did not buy,
	// falling back to popularity for a customer the model cannot place.
	StrategyPersonalised = "personalised"
	// StrategySimilar: bought or viewed together with a product (the
	// product asked about, else the customer's last viewed).
	StrategySimilar = "similar"
	// StrategyPopular: most bought, in the store asked about, else in
	// the region of the customer's store, else everywhere.
	StrategyPopular = "popular"
	// StrategyRecentlyViewed: viewed and not bought, newest first.
	StrategyRecentlyViewed = "recently_viewed"
	// StrategyComplements: popular products of the categories bought
	// with those of the customer's last order.
	StrategyComplements = "complements"
	// StrategyBrowseAbandonment: the product the customer viewed last
	// and did not buy, then alternatives of the same category.
	StrategyBrowseAbandonment = "browse_abandonment"
)

// Strategies lists them, in the order the docs give them.
var Strategies = []string{StrategyPersonalised, StrategySimilar, StrategyPopular, StrategyRecentlyViewed,
	StrategyComplements, StrategyBrowseAbandonment}

// The places a recommendation can be asked to be available at.
const (
	AvailableAny     = "any"     // no stock asked; known out of stock everywhere is left out
	AvailableOnline  = "online"  // in stock at a warehouse
	AvailableNearest = "nearest" // in stock at the customer's nearest store
	AvailableStore   = "store"   // in stock at the store asked about
)

// Definition is a named recommendation: the strategy, what it keeps and
// how it weighs its evidence (kind: recommendation files, and the
// built-in names templates can use without any file).
type Definition struct {
	Name     string  `json:"name" yaml:"name"`
	About    string  `json:"description,omitempty" yaml:"description"`
	Strategy string  `json:"strategy" yaml:"strategy"`
	Limit    int     `json:"limit,omitempty" yaml:"limit"`
	Filters  Filters `json:"filters,omitzero" yaml:"filters"`
	Weights  Weights `json:"weights,omitzero" yaml:"weights"`
	// Fallback fills a short list with popular products: "popular" (the
	// default) or "none".
	Fallback string `json:"fallback,omitempty" yaml:"fallback"`
}

// Filters restrict what a definition proposes.
type Filters struct {
	// Available: any (default), online, nearest or store (with Store).
	Available string `json:"available,omitempty" yaml:"available"`
	Store     string `json:"store,omitempty" yaml:"store"`
	// Categories, if set, keeps only these; ExcludeCategories leaves
	// these out.
	Categories        []string `json:"categories,omitempty" yaml:"categories"`
	ExcludeCategories []string `json:"exclude_categories,omitempty" yaml:"exclude_categories"`
	// Replenishable categories are proposed again after a purchase
	// (socks, cosmetics); others are not.
	Replenishable []string `json:"replenishable,omitempty" yaml:"replenishable"`
	MinPrice      float64  `json:"min_price,omitempty" yaml:"min_price"`
	MaxPrice      float64  `json:"max_price,omitempty" yaml:"max_price"`
}

// Weights of the personalised blend; zero: the defaults.
type Weights struct {
	// Similar weighs the sum of similarities to the customer's items
	// (default 1); Viewed the products they viewed and did not buy,
	// the newest most (default 0.3); Popular the popularity of the
	// store or region (default 0.05: a tie-breaker, and all there is
	// for a customer with no history).
	Similar float64 `json:"similar,omitempty" yaml:"similar"`
	Viewed  float64 `json:"viewed,omitempty" yaml:"viewed"`
	Popular float64 `json:"popular,omitempty" yaml:"popular"`
}

func (w Weights) orDefaults() Weights {
	if w.Similar == 0 && w.Viewed == 0 && w.Popular == 0 {
		return Weights{Similar: 1, Viewed: 0.3, Popular: 0.05}
	}
	return w
}

// Builtins are the definitions every server has: templates name them
// (recommendations.for_you) without any file. A file of the same name
// replaces one.
func Builtins() []Definition {
	return []Definition{
		{Name: "for_you", Strategy: StrategyPersonalised, About: "your recent items × what goes with them, popular near you when we know nothing"},
		{Name: "similar", Strategy: StrategySimilar, About: "bought or viewed together with the product (or the last one viewed)"},
		{Name: "popular", Strategy: StrategyPopular, About: "most bought in the store, else the customer's region, else everywhere"},
		{Name: "recently_viewed", Strategy: StrategyRecentlyViewed, About: "viewed and not bought, newest first", Fallback: "none"},
		{Name: "complements", Strategy: StrategyComplements, About: "popular in the categories bought with the last order's"},
		{Name: "browse_abandonment", Strategy: StrategyBrowseAbandonment, About: "the product viewed last and alternatives in stock nearby", Filters: Filters{Available: AvailableNearest}},
	}
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Validate checks a definition; errors name the field and what to write.
func (d *Definition) Validate() error {
	bad := func(field, reason string) error {
		return &problem.ValidationError{Subject: "recommendation", ID: d.Name, Path: field, Reason: reason}
	}
	switch {
	case !nameRE.MatchString(d.Name):
		return bad("name", fmt.Sprintf("%q is not a name templates can use: lower-case letters, digits and _, starting with a letter (recommendations.%s)", d.Name, "for_you"))
	case !slices.Contains(Strategies, d.Strategy):
		return bad("strategy", fmt.Sprintf("%q is not a strategy: one of %v", d.Strategy, Strategies))
	case d.Limit < 0 || d.Limit > 50:
		return bad("limit", "must be between 1 and 50 (0: the channel's default)")
	case d.Fallback != "" && d.Fallback != "popular" && d.Fallback != "none":
		return bad("fallback", `must be "popular" or "none"`)
	case d.Weights.Similar < 0 || d.Weights.Viewed < 0 || d.Weights.Popular < 0:
		return bad("weights", "must not be negative")
	case d.Filters.MinPrice < 0 || d.Filters.MaxPrice < 0 || (d.Filters.MaxPrice > 0 && d.Filters.MaxPrice < d.Filters.MinPrice):
		return bad("filters.max_price", "prices must be positive, max_price at least min_price")
	}
	switch d.Filters.Available {
	case "", AvailableStore:
		// A store may come from the file or from the query (?store=).
	case AvailableAny, AvailableOnline, AvailableNearest:
		if d.Filters.Store != "" {
			return bad("filters.store", "a store is only read with available: store (or no available)")
		}
	default:
		return bad("filters.available", fmt.Sprintf("%q: one of any, online, nearest, store", d.Filters.Available))
	}
	return nil
}
