package recommend

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
)

// Commerce is what recommendations read of commerce: the catalogue
// (price, media) and the stock (commerce.Store implements it).
type Commerce interface {
	ProductsBySKU(ctx context.Context, skus []string) (map[string]*commerce.Product, error)
	StockOf(ctx context.Context, sku string) ([]commerce.StockLevel, error)
	ListLocations(ctx context.Context, after string, limit int) ([]*commerce.Location, error)
}

// Profiles finds a profile by id (store.Profiles).
type Profiles interface {
	Timelines
	Profile(ctx context.Context, id int64) (*profile.Profile, error)
}

// Recommender answers recommendation queries over a model.
type Recommender struct {
	Model    *Model
	Profiles Profiles
	// Commerce is nil when commerce is not wired: no stock is known, and
	// only available: any can be asked.
	Commerce Commerce
	// Stores are the physical stores: the customer's nearest.
	Stores []place.Location
	Clock  clock.Clock
	// Links shortens the links of SMS (sms channel queries).
	Links Links

	mu   sync.RWMutex
	defs map[string]Definition

	locMu  sync.Mutex
	locs   map[string]*commerce.Location
	locsAt time.Time
}

// Query asks for recommendations.
type Query struct {
	// Name is a definition (for_you, a kind: recommendation file's
	// name) or a bare strategy; default for_you.
	Name string
	// Profile is the customer; 0 asks for a visitor nobody knows
	// (popular, similar to Product).
	Profile int64
	// Product is the product of similar (else the last viewed).
	Product string
	// Store and Available override the definition's filters.
	Store     string
	Available string
	// Home is the customer's store when the caller knows it (a message
	// about a store): popularity is read there, and "nearest" means it.
	// Empty: the store nearest the customer's last known position, else
	// the last they bought in.
	Home string
	// Limit overrides the definition's (and the channel's) limit.
	Limit int
	// Channel shapes the answer: sms and push name one product, email
	// shows a grid of six, web and app ten (Shape).
	Channel string
}

// Recommendation is one product proposed.
type Recommendation struct {
	ProductID string   `json:"product_id"`
	SKU       string   `json:"sku,omitempty"`
	Name      string   `json:"name"`
	Category  string   `json:"category,omitempty"`
	Brand     string   `json:"brand,omitempty"`
	Price     float64  `json:"price,omitempty"`
	Currency  string   `json:"currency,omitempty"`
	URL       string   `json:"url,omitempty"` // tagged: rec= and utm_content= name the recommendation
	ImageURL  string   `json:"image_url,omitempty"`
	Media     []string `json:"media,omitempty"`
	// Availability is where the product can be had, as asked.
	Availability Availability `json:"availability"`
	Score        float64      `json:"score"`
	Reason       string       `json:"reason"`
}

// Availability of a recommended product: "in_stock" with the quantity
// available where it was asked (Where: online, a store id, or any: every
// location), or "unknown" when commerce holds no stock for it.
type Availability struct {
	Status    string `json:"status"`
	Where     string `json:"where"`
	Available int64  `json:"available,omitempty"`
}

// Result is the answer to a query.
type Result struct {
	Name     string           `json:"name"`
	Strategy string           `json:"strategy"`
	Profile  int64            `json:"profile_id,omitempty"`
	Store    string           `json:"store_id,omitempty"`
	Channel  string           `json:"channel,omitempty"`
	Items    []Recommendation `json:"items"`
	// Fallback says the list was completed with popular products.
	Fallback bool `json:"fallback"`
}

// ErrUnknown is returned for a name that is neither a definition nor a
// strategy.
var ErrUnknown = errors.New("recommend: unknown recommendation")

// Shape is how many products a channel shows by default: an SMS and a
// push name one, an email a grid of six, the web shop, the app and the
// store associate ten.
func Shape(channel string) int {
	switch channel {
	case "sms", "push", "whatsapp":
		return 1
	case "email":
		return 6
	}
	return 10
}

// SetDefinitions sets definitions in this process only (tests, the
// benchmark's variants); files applied are saved in the log (SavedEvent).
func (r *Recommender) SetDefinitions(defs []Definition) {
	m := map[string]Definition{}
	for _, d := range defs {
		m[d.Name] = d
	}
	r.mu.Lock()
	r.defs = m
	r.mu.Unlock()
}

// Definitions returns every definition, by name: the built-ins, those
// saved in the log (kind: recommendation) and those SetDefinitions gave,
// a later one replacing an earlier one of the same name.
func (r *Recommender) Definitions() []Definition {
	m := map[string]Definition{}
	for _, d := range Builtins() {
		m[d.Name] = d
	}
	for _, d := range r.Model.savedDefinitions() {
		m[d.Name] = d
	}
	r.mu.RLock()
	for _, d := range r.defs {
		m[d.Name] = d
	}
	r.mu.RUnlock()
	out := make([]Definition, 0, len(m))
	for _, d := range m {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Definition) int { return cmpString(a.Name, b.Name) })
	return out
}

// Definition returns the definition of a name: an applied or built-in
// one, else a bare strategy with its defaults.
func (r *Recommender) Definition(name string) (Definition, error) {
	if name == "" {
		name = "for_you"
	}
	for _, d := range r.Definitions() {
		if d.Name == name {
			return d, nil
		}
	}
	if slices.Contains(Strategies, name) {
		return Definition{Name: name, Strategy: name}, nil
	}
	names := []string{}
	for _, d := range r.Definitions() {
		names = append(names, d.Name)
	}
	return Definition{}, &problem.ValidationError{Subject: "recommendation", Path: "strategy",
		Reason: fmt.Sprintf("%q is neither a recommendation (%v) nor a strategy (%v)", name, names, Strategies)}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (r *Recommender) now() time.Time {
	if r.Clock == nil {
		return time.Now()
	}
	return r.Clock.Now()
}

// Recommend answers q.
func (r *Recommender) Recommend(ctx context.Context, q Query) (*Result, error) {
	def, err := r.Definition(q.Name)
	if err != nil {
		return nil, err
	}
	f := def.Filters
	if q.Available != "" {
		f.Available = q.Available
	}
	if q.Store != "" {
		f.Store = q.Store
		if f.Available == "" || f.Available == AvailableAny {
			f.Available = AvailableStore
		}
	}
	if f.Available == AvailableStore && f.Store == "" {
		return nil, &problem.ValidationError{Subject: "recommendation", ID: def.Name, Path: "store",
			Reason: "available: store needs a store: pass store=ID"}
	}
	limit := cmpOr(q.Limit, def.Limit, Shape(q.Channel))
	limit = min(limit, 50)

	h := &History{Bought: map[string]time.Time{}, Returned: map[string]time.Time{}}
	var prof *profile.Profile
	if q.Profile > 0 {
		if prof, err = r.Profiles.Profile(ctx, q.Profile); err != nil {
			return nil, err
		}
		if h, err = ReadHistory(ctx, r.Profiles, q.Profile); err != nil {
			return nil, fmt.Errorf("recommend: history of profile %d: %w", q.Profile, err)
		}
	}
	home := q.Home
	if home == "" {
		home = r.homeStore(prof, h)
	}
	if f.Available == AvailableNearest {
		if home == "" {
			// Nobody knows where the customer shops: online is what they
			// can have.
			f.Available = AvailableOnline
		} else {
			f.Available, f.Store = AvailableStore, home
		}
	}
	scope := f.Store
	if scope == "" {
		scope = home
	}
	res := &Result{Name: def.Name, Strategy: def.Strategy, Profile: q.Profile, Store: f.Store, Channel: q.Channel, Items: []Recommendation{}}
	cands, reasons := r.candidates(def, q, h, scope)
	n := len(cands)
	if def.Fallback != "none" {
		pop := r.popularIn(scope)
		for k, i := range pop {
			cands = append(cands, Scored{i, 1 / float64(k+2)})
		}
	}
	items, fellBack, err := r.keep(ctx, def, f, h, cands, n, limit)
	if err != nil {
		return nil, err
	}
	for k := range items {
		if reasons[items[k].ProductID] != "" && !fellBack[k] {
			items[k].Reason = reasons[items[k].ProductID]
		}
		items[k].URL = Tag(items[k].URL, def.Name, q.Channel)
		res.Fallback = res.Fallback || fellBack[k]
	}
	if q.Channel == "sms" {
		r.shorten(ctx, q.Profile, def.Name, items)
	}
	res.Items = items
	return res, nil
}

func cmpOr(vs ...int) int {
	for _, v := range vs {
		if v > 0 {
			return v
		}
	}
	return 0
}

// homeStore is the customer's store: their nearest (by their last known
// position), else the store of their newest event that names one.
func (r *Recommender) homeStore(p *profile.Profile, h *History) string {
	if p != nil && len(r.Stores) > 0 {
		if n, ok := profile.Computed(p, &profile.Env{Now: r.now(), Stores: r.Stores})["nearest_store"].(profile.NearestStore); ok {
			return n.ID
		}
	}
	return h.LastStore
}

// popularIn is the popularity ranking of a store, else its region, else
// everywhere: the first with anything in it.
func (r *Recommender) popularIn(store string) []int32 {
	m := r.Model
	if store != "" {
		if s := m.popular(storeScope(store)); len(s) > 0 {
			return s
		}
		if s := m.popular(regionScope(m.region(store))); len(s) > 0 {
			return s
		}
	}
	return m.popular("")
}

// candidates ranks the strategy's products, best first, with why each
// was chosen.
func (r *Recommender) candidates(def Definition, q Query, h *History, scope string) ([]Scored, map[string]string) {
	m := r.Model
	reasons := map[string]string{}
	m.mu.RLock()
	defer m.mu.RUnlock()
	idx := func(id string) (int32, bool) { i, ok := m.ids[id]; return i, ok }
	viewedNotBought := func() []int32 {
		var out []int32
		for _, id := range h.Viewed {
			if _, b := h.Bought[id]; b {
				continue
			}
			if i, ok := idx(id); ok {
				out = append(out, i)
			}
		}
		return out
	}
	var out []Scored
	switch def.Strategy {
	case StrategyRecentlyViewed:
		for k, i := range viewedNotBought() {
			out = append(out, Scored{i, 1 / float64(k+1)})
			reasons[m.items[i].ID] = "viewed recently"
		}
	case StrategySimilar:
		p := q.Product
		if p == "" && len(h.Viewed) > 0 {
			p = h.Viewed[0]
		}
		if p == "" && len(h.LastOrder) > 0 {
			p = h.LastOrder[0]
		}
		if i, ok := idx(p); ok {
			h.anchor = p // never proposed as similar to itself
			out = m.similar(i, 50)
			for _, s := range out {
				reasons[m.items[s.Item].ID] = "goes with " + m.items[i].Name
			}
		}
	case StrategyBrowseAbandonment:
		v := viewedNotBought()
		if len(v) > 0 {
			last := v[0]
			out = append(out, Scored{last, 2})
			reasons[m.items[last].ID] = "you looked at it"
			cat := m.items[last].Category
			for _, s := range m.similar(last, 50) {
				if m.items[s.Item].Category == cat {
					out = append(out, Scored{s.Item, s.Score})
					reasons[m.items[s.Item].ID] = "like " + m.items[last].Name
				}
			}
			m.mu.RUnlock()
			pop := m.popular(categoryScope(cat))
			m.mu.RLock()
			for k, i := range pop {
				out = append(out, Scored{i, 1 / float64(k+3)})
			}
		}
	case StrategyComplements:
		var basis []string
		basis = append(basis, h.LastOrder...)
		if len(basis) == 0 && len(h.Viewed) > 0 {
			basis = h.Viewed[:1]
		}
		cats := map[string]bool{}
		var order []string
		for _, id := range basis {
			if i, ok := idx(id); ok && m.items[i].Category != "" && !cats[m.items[i].Category] {
				cats[m.items[i].Category] = true
				order = append(order, m.items[i].Category)
			}
		}
		var comp []string
		for _, c := range order {
			for _, cc := range m.complementCategories(c) {
				if !cats[cc] && !slices.Contains(comp, cc) {
					comp = append(comp, cc)
				}
			}
		}
		m.mu.RUnlock()
		lists := make([][]int32, 0, len(comp))
		for _, c := range comp {
			lists = append(lists, m.popular(categoryScope(c)))
		}
		m.mu.RLock()
		// Interleave: the best of each complementary category first.
		for k := 0; k < 20; k++ {
			for ci, l := range lists {
				if k < len(l) {
					out = append(out, Scored{l[k], 1 / float64(k+1) / float64(ci+1)})
					reasons[m.items[l[k]].ID] = "goes with your " + order[0]
				}
			}
		}
	case StrategyPersonalised:
		out = r.blend(def.Weights.orDefaults(), h, scope, reasons)
	case StrategyPopular:
		// Only the fallback: the popularity of the scope.
	}
	return out, reasons
}

// blend scores the personalised strategy. Model read lock should be held
// (it is released while a popularity ranking is read).
func (r *Recommender) blend(w Weights, h *History, scope string, reasons map[string]string) []Scored {
	m := r.Model
	score := map[int32]float64{}
	why := map[int32]int32{}
	seed := func(i int32, sw float64) {
		for _, s := range m.similar(i, 30) {
			v := w.Similar * sw * s.Score
			if v > score[s.Item]-w.Viewed { // remember the strongest seed
				why[s.Item] = i
			}
			score[s.Item] += v
		}
	}
	for id := range h.Bought {
		if i, ok := m.ids[id]; ok {
			seed(i, 1)
		}
	}
	for k, id := range h.Viewed {
		if k >= 20 {
			break
		}
		i, ok := m.ids[id]
		if !ok {
			continue
		}
		rec := math.Pow(0.8, float64(k))
		seed(i, rec)
		if _, b := h.Bought[id]; !b {
			score[i] += w.Viewed * rec
			reasons[id] = "viewed recently"
		}
	}
	if w.Popular > 0 {
		m.mu.RUnlock()
		pop := r.popularIn(scope)
		m.mu.RLock()
		for k, i := range pop {
			if k >= 100 {
				break
			}
			score[i] += w.Popular * (1 - float64(k)/100)
		}
	}
	out := make([]Scored, 0, len(score))
	for i, s := range score {
		out = append(out, Scored{i, s})
		if j, ok := why[i]; ok && reasons[m.items[i].ID] == "" {
			reasons[m.items[i].ID] = "goes with " + m.items[j].Name
		}
	}
	sortScored(out)
	return out
}

// Tag marks a product link with the recommendation it came from, so that
// a click and the order after it are attributed to it: rec=NAME, and
// utm_content=rec-NAME (a message's pipeline adds its own utm_source,
// utm_medium and utm_campaign). A link for the web shop or the app (no
// message channel) also gets utm_source=parcours, utm_medium=
// recommendation, utm_campaign=rec-NAME: Measure's attribution then
// credits the recommendation as a touchpoint of its own.
func Tag(href, name, channel string) string {
	if href == "" {
		return ""
	}
	u, err := url.Parse(href)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return href
	}
	q := u.Query()
	q.Set("rec", name)
	q.Set("utm_content", "rec-"+name)
	switch channel {
	case "email", "sms", "push", "whatsapp":
	default:
		if q.Get("utm_source") == "" {
			q.Set("utm_source", "parcours")
			q.Set("utm_medium", "recommendation")
			q.Set("utm_campaign", "rec-"+name)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
