package clienteling

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// EventProductViewed is the Segment e-commerce event whose latest
// occurrences are the customer's recent browsing.
const EventProductViewed = "Product Viewed"

// View is the customer card: everything the associate needs, in one read.
// A section whose part is not wired is null, and Unavailable says why.
type View struct {
	ProfileID int64  `json:"profile_id"`
	FoundBy   string `json:"found_by,omitempty"`
	// Store is the store the associate works in; null when none was given
	// (an agent at the call center): the stock section is then null.
	Store    *Store           `json:"store"`
	Identity Identity         `json:"identity"`
	Consent  []ChannelConsent `json:"consent"`
	// Traits are the customer's preferences and sizes: every identify
	// trait, by name; Sizes are those whose name says size.
	Traits      map[string]json.RawMessage `json:"traits"`
	Sizes       map[string]json.RawMessage `json:"sizes"`
	Summary     Summary                    `json:"summary"`
	Cart        *commerce.Cart             `json:"cart"`
	RecentViews []Viewed                   `json:"recent_views"`
	// Purchases are the last Order Completed on the timeline, from any
	// channel: a till's sales (which are not commerce orders) as well as
	// commerce's orders; Orders are commerce's, with their returns.
	Purchases       []Purchase       `json:"purchases"`
	Orders          []Order          `json:"orders"`
	OpenTasks       []*store.Task    `json:"open_tasks"`
	Conversations   []Conversation   `json:"conversations"`
	Recommendations []Recommendation `json:"recommendations"`
	Segments        []Membership     `json:"segments"`
	Notes           []Note           `json:"notes"`
	// Stock is, for the products in the cart, recently viewed or
	// recommended, what this store has.
	Stock       []Stock           `json:"stock"`
	Unavailable map[string]string `json:"unavailable,omitempty"`
}

// Store names the associate's store.
type Store struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Identity is who the customer is and how to reach them.
type Identity struct {
	Name        string                `json:"name,omitempty"`
	Email       string                `json:"email,omitempty"`
	Phone       string                `json:"phone,omitempty"`
	LoyaltyCard string                `json:"loyalty_card,omitempty"`
	Identifiers []identity.Identifier `json:"identifiers"`
}

// ChannelConsent says what may be sent on one channel: whether the
// customer has an address there, their choice for the channel (null:
// never said) and per topic, and a suppression (a hard bounce, a
// complaint) that stops everything.
type ChannelConsent struct {
	Channel    string          `json:"channel"`
	Address    bool            `json:"address"`
	Granted    *bool           `json:"granted"`
	Topics     map[string]bool `json:"topics,omitempty"`
	Suppressed string          `json:"suppressed,omitempty"`
	// Marketing is whether a marketing message on the channel (no topic)
	// may go: an address, a grant, no suppression.
	Marketing bool `json:"marketing"`
}

// Summary is the computed traits an associate asks about.
type Summary struct {
	LifetimeValue     any `json:"lifetime_value"`
	OrderCount        any `json:"order_count"`
	AverageOrderValue any `json:"average_order_value"`
	LastOrderDate     any `json:"last_order_date"`
	PreferredChannel  any `json:"preferred_channel"`
	TopCategories     any `json:"top_categories_viewed"`
	TopBrands         any `json:"top_brands_viewed"`
	FirstSeen         any `json:"first_seen"`
	LastSeen          any `json:"last_seen"`
}

// Viewed is one product the customer looked at.
type Viewed struct {
	SKU       string    `json:"sku,omitempty"`
	ProductID string    `json:"product_id,omitempty"`
	Name      string    `json:"name,omitempty"`
	Category  string    `json:"category,omitempty"`
	Price     float64   `json:"price,omitempty"`
	Channel   string    `json:"channel"`
	At        time.Time `json:"at"`
}

// Purchase is one Order Completed on the customer's timeline.
type Purchase struct {
	OrderID  string    `json:"order_id,omitempty"`
	Total    float64   `json:"total"`
	Currency string    `json:"currency,omitempty"`
	Items    int       `json:"items"`
	Channel  string    `json:"channel"`
	StoreID  string    `json:"store_id,omitempty"`
	At       time.Time `json:"at"`
}

// Order is one order with its returns.
type Order struct {
	*commerce.Order
	Returns []*commerce.Return `json:"returns"`
}

// Membership is one segment the customer is in, and since when.
type Membership struct {
	Segment string    `json:"segment_id"`
	Since   time.Time `json:"since"`
}

// Note is one of the associates' notes on the timeline.
type Note struct {
	Text    string    `json:"text"`
	StoreID string    `json:"store_id,omitempty"`
	Author  string    `json:"author,omitempty"`
	At      time.Time `json:"at"`
}

// Stock is one product's stock in the associate's store.
type Stock struct {
	SKU       string `json:"sku"`
	Name      string `json:"name,omitempty"`
	OnHand    int64  `json:"on_hand"`
	Available int64  `json:"available"`
	// Why the product is listed: in_cart, viewed, recommended.
	Why []string `json:"why"`
}

// Viewer is who asks: the store they stand in ("" for none) and the
// stores they may see the tasks of (nil: every store).
type Viewer struct {
	Store  string
	Stores []string
}

func (v Viewer) sees(storeID string) bool {
	return v.Stores == nil || slices.Contains(v.Stores, storeID)
}

// View assembles the card of p for the viewer. Each section is one or a
// few indexed reads (about 15 to 40 in all, by the cart's and orders'
// keys and the products shown).
func (s *Service) View(ctx context.Context, p *profile.Profile, foundBy string, v Viewer) (*View, error) {
	lim := s.limits()
	out := &View{ProfileID: p.ID, FoundBy: foundBy, Traits: map[string]json.RawMessage{}, Sizes: map[string]json.RawMessage{},
		RecentViews: []Viewed{}, Purchases: []Purchase{}, OpenTasks: []*store.Task{}, Segments: []Membership{}, Notes: []Note{}, Unavailable: map[string]string{}}
	if v.Store != "" {
		out.Store = &Store{ID: v.Store}
	}
	out.Identity = identityOf(p)
	for name, t := range p.Traits {
		out.Traits[name] = t.Value
		if strings.Contains(strings.ToLower(name), "size") || strings.Contains(strings.ToLower(name), "taille") {
			out.Sizes[name] = t.Value
		}
	}
	c := profile.Computed(p, &profile.Env{Now: s.now()})
	out.Summary = Summary{LifetimeValue: c["lifetime_value"], OrderCount: c["order_count"], AverageOrderValue: c["average_order_value"],
		LastOrderDate: c["last_order_date"], PreferredChannel: c["preferred_channel"], TopCategories: c["top_categories_viewed"],
		TopBrands: c["top_brands_viewed"], FirstSeen: c["first_seen"], LastSeen: c["last_seen"]}

	// What is not wired is known before any read.
	if s.Conversations == nil {
		out.Unavailable["conversations"] = "no conversation service is wired in this server (issue 21.1)"
	}
	if s.Recommender == nil {
		out.Unavailable["recommendations"] = "no recommender is wired in this server (the recommendations issue)"
	}
	if s.Commerce == nil {
		out.Unavailable["commerce"] = "commerce is not wired in this server: no cart, orders or stock"
	} else if v.Store == "" {
		out.Unavailable["stock"] = "no store given: pass store=ID to see the stock of these products in it"
	}
	// The sections read different things: they run at once, each
	// writing its own fields of out (the store's readers are a pool).
	// The stock waits for the cart, the views and the recommendations.
	err := parallel(
		func() (err error) { out.Consent, err = s.consent(ctx, p); return err },
		func() error { return s.timeline(ctx, p.ID, lim, out) },
		func() (err error) { out.Segments, err = s.segments(ctx, p.ID); return err },
		func() error { return s.tasksAndMore(ctx, p, v, lim, out) },
		func() error {
			if s.Commerce == nil {
				return nil
			}
			return s.commerce(ctx, p, v, lim, out)
		},
	)
	if err != nil {
		return nil, err
	}
	if s.Commerce != nil && v.Store != "" {
		if err := s.stock(ctx, v.Store, lim, out); err != nil {
			return nil, err
		}
	}
	if len(out.Unavailable) == 0 {
		out.Unavailable = nil
	}
	return out, nil
}

// tasksAndMore reads the open tasks, the conversations and the
// recommendations.
func (s *Service) tasksAndMore(ctx context.Context, p *profile.Profile, v Viewer, lim Limits, out *View) error {
	tasks, err := s.Profiles.ListTasks(ctx, store.TaskQuery{ProfileID: p.ID, Status: store.TaskOpen, Limit: lim.Tasks})
	if err != nil {
		return fmt.Errorf("clienteling: tasks of profile %d: %w", p.ID, err)
	}
	for _, t := range tasks {
		if v.sees(t.StoreID) {
			out.OpenTasks = append(out.OpenTasks, t)
		}
	}
	if s.Conversations != nil {
		if out.Conversations, err = s.Conversations.OpenConversations(ctx, p.ID, lim.Conversations); err != nil {
			return fmt.Errorf("clienteling: conversations of profile %d: %w", p.ID, err)
		}
		if out.Conversations == nil {
			out.Conversations = []Conversation{}
		}
	}
	if s.Recommender != nil {
		if out.Recommendations, err = s.Recommender.Recommend(ctx, p, v.Store, lim.Recommendations); err != nil {
			return fmt.Errorf("clienteling: recommendations for profile %d: %w", p.ID, err)
		}
		if out.Recommendations == nil {
			out.Recommendations = []Recommendation{}
		}
	}
	return nil
}

// parallel runs fns at once and returns the first error of them, in
// their order.
func parallel(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns[1:] {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i+1] = fn() }()
	}
	errs[0] = fns[0]()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func identityOf(p *profile.Profile) Identity {
	id := Identity{Identifiers: p.Identifiers}
	if id.Identifiers == nil {
		id.Identifiers = []identity.Identifier{}
	}
	trait := func(names ...string) string {
		for _, n := range names {
			if t, ok := p.Traits[n]; ok {
				var v string
				if json.Unmarshal(t.Value, &v) == nil && v != "" {
					return v
				}
			}
		}
		return ""
	}
	id.Name = trait("name", "full_name", "fullName")
	if id.Name == "" {
		id.Name = strings.TrimSpace(trait("first_name", "firstName") + " " + trait("last_name", "lastName"))
	}
	first := func(k identity.Kind) string {
		for _, i := range p.Identifiers {
			if i.Kind == k {
				return i.Value
			}
		}
		return ""
	}
	id.Email, id.Phone, id.LoyaltyCard = first(identity.Email), first(identity.Phone), first(identity.LoyaltyID)
	return id
}

// timeline reads the latest product views and notes (two reads of the
// profile's timeline index).
func (s *Service) timeline(ctx context.Context, id int64, lim Limits, out *View) error {
	views, err := s.Profiles.Timeline(ctx, store.TimelineQuery{Profile: id, Event: EventProductViewed, Limit: lim.Views})
	if err != nil {
		return fmt.Errorf("clienteling: views of profile %d: %w", id, err)
	}
	for _, e := range views {
		var pr struct {
			SKU       string  `json:"sku"`
			ProductID string  `json:"product_id"`
			Name      string  `json:"name"`
			Category  string  `json:"category"`
			Price     float64 `json:"price"`
		}
		_ = json.Unmarshal(e.Properties, &pr)
		out.RecentViews = append(out.RecentViews, Viewed{SKU: pr.SKU, ProductID: pr.ProductID, Name: pr.Name, Category: pr.Category,
			Price: pr.Price, Channel: e.Channel, At: e.Timestamp})
	}
	buys, err := s.Profiles.Timeline(ctx, store.TimelineQuery{Profile: id, Event: profile.EventOrderCompleted, Limit: lim.Purchases})
	if err != nil {
		return fmt.Errorf("clienteling: purchases of profile %d: %w", id, err)
	}
	for _, e := range buys {
		var pr struct {
			OrderID  string            `json:"order_id"`
			Total    *float64          `json:"total"`
			Revenue  *float64          `json:"revenue"`
			Currency string            `json:"currency"`
			StoreID  string            `json:"store_id"`
			Products []json.RawMessage `json:"products"`
		}
		_ = json.Unmarshal(e.Properties, &pr)
		total := pr.Total
		if total == nil {
			total = pr.Revenue
		}
		b := Purchase{OrderID: pr.OrderID, Currency: pr.Currency, Items: len(pr.Products), Channel: e.Channel, StoreID: cmp.Or(e.StoreID, pr.StoreID), At: e.Timestamp}
		if total != nil {
			b.Total = *total
		}
		out.Purchases = append(out.Purchases, b)
	}
	notes, err := s.Profiles.Timeline(ctx, store.TimelineQuery{Profile: id, Event: EventStoreNoteAdded, Limit: lim.Notes})
	if err != nil {
		return fmt.Errorf("clienteling: notes of profile %d: %w", id, err)
	}
	for _, e := range notes {
		var pr noteProps
		_ = json.Unmarshal(e.Properties, &pr)
		out.Notes = append(out.Notes, Note{Text: pr.Text, StoreID: cmp.Or(pr.StoreID, e.StoreID), Author: pr.Author, At: e.Timestamp})
	}
	return nil
}

func (s *Service) segments(ctx context.Context, id int64) ([]Membership, error) {
	raw, err := s.Profiles.SegmentStates(ctx, []int64{id})
	if err != nil {
		return nil, fmt.Errorf("clienteling: segments of profile %d: %w", id, err)
	}
	out := []Membership{}
	if b, ok := raw[id]; ok {
		st := segment.NewState()
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("clienteling: segment state of profile %d: %w", id, err)
		}
		for seg, since := range st.Members {
			out = append(out, Membership{Segment: seg, Since: since})
		}
		slices.SortFunc(out, func(a, b Membership) int { return cmp.Compare(a.Segment, b.Segment) })
	}
	return out, nil
}
