package commerce

import (
	"cmp"
	"context"
	"encoding/json"
	"strings"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
)

// Profiles finds whose the events of a batch are: the profile unify put
// each one on (nil: none). The server wires the unify stage's (commerce's
// consumer reads behind it); without it carts are found by the events' own
// identifiers.
type Profiles interface {
	EventProfiles(ctx context.Context, batch []*event.Event) ([]*profile.Profile, error)
}

// cartKinds is the order in which a customer's identifiers name their one
// cart: the most stable first.
var cartKinds = []identity.Kind{identity.UserID, identity.Email, identity.LoyaltyID, identity.StoreCustomerID, identity.Phone, identity.AnonymousID}

// CartKeys are the keys a customer's carts can be kept under, in the order
// they name the one cart: a profile's identifiers, else (no profile) the
// event's own.
func CartKeys(p *profile.Profile, e *event.Event) []string {
	var ids []identity.Identifier
	if p != nil {
		ids = p.Identifiers
	} else if e != nil {
		rules := identity.DefaultRules()
		for _, raw := range identity.Extract(e) {
			if id, refused := rules.Normalize(raw); refused == "" {
				ids = append(ids, id)
			}
		}
	}
	var keys []string
	for _, k := range cartKinds {
		for _, id := range ids {
			if id.Kind == k {
				keys = append(keys, id.String())
			}
		}
	}
	return keys
}

// CartKey is the key of a profile's one cart: the first of its keys
// (CartKeys) under which a cart was saved, else the first key. Carts
// under its other keys are merged into it when commerce sees the
// identities join (an identify, an alias, a profile merge).
func (s *Service) CartKey(ctx context.Context, p *profile.Profile) (string, error) {
	keys := CartKeys(p, nil)
	if len(keys) == 0 {
		return "", invalid("customer", "profile %d has no identifier a cart can be kept under", p.ID)
	}
	key, _, err := s.mainCart(ctx, keys)
	return key, err
}

// mainCart returns the first key with a saved cart, else the first key,
// and the other keys with a saved cart.
func (s *Service) mainCart(ctx context.Context, keys []string) (string, []string, error) {
	main := ""
	var others []string
	for _, k := range keys {
		c, err := s.st.Cart(ctx, k)
		if err != nil {
			return "", nil, err
		}
		switch {
		case c.Version == 0:
		case main == "":
			main = k
		default:
			others = append(others, k)
		}
	}
	if main == "" && len(keys) > 0 {
		main = keys[0]
	}
	return main, others, nil
}

// consolidate merges every saved cart of one customer into the one cart
// (the rule of MergeCarts), so that the web, the app and the store see the
// same whatever identifier they know the customer by.
func (s *Service) consolidate(ctx context.Context, keys []string) error {
	main, others, err := s.mainCart(ctx, keys)
	if err != nil {
		return err
	}
	for _, k := range others {
		if _, _, err := s.MergeCart(ctx, k, main); err != nil {
			return err
		}
	}
	return nil
}

// trackedProps are what a tracked Product Added or Removed says of the
// product (the Segment e-commerce spec's properties).
type trackedProps struct {
	SKU       string   `json:"sku"`
	ProductID string   `json:"product_id"`
	Name      string   `json:"name"`
	Category  string   `json:"category"`
	Price     float64  `json:"price"`
	Quantity  *float64 `json:"quantity"`
	Currency  string   `json:"currency"`
}

// applyTracked applies a tracked Product Added or Removed to the
// customer's one cart (see Cart.ApplyTracked for what it skips). A new
// product gets its name, category and price from the catalog when the
// event does not say.
func (s *Service) applyTracked(ctx context.Context, b *cartBatch, e *event.Event, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	var p trackedProps
	if err := json.Unmarshal(e.Properties, &p); err != nil {
		s.log.Debug("commerce: tracked cart event with unreadable properties skipped", "event", e.Seq)
		return nil
	}
	sku := cmp.Or(p.SKU, p.ProductID)
	qty := int64(1)
	if p.Quantity != nil {
		qty = int64(*p.Quantity)
	}
	if sku == "" || qty <= 0 {
		return nil
	}
	if e.Event == "Product Removed" {
		qty = -qty
	}
	line := []Line{{SKU: sku, Name: p.Name, Category: p.Category, Price: p.Price, Quantity: qty}}
	if qty > 0 {
		if err := s.enrichLines(ctx, line); err != nil {
			return err
		}
	}
	l := line[0]
	t := Tracked{Seq: e.Seq, Channel: e.Channel, At: e.Timestamp,
		Item: CartItem{SKU: l.SKU, ProductID: l.ProductID, Name: l.Name, Category: l.Category, Price: l.Price, Quantity: l.Quantity}}
	main, err := b.main(ctx, keys)
	if err != nil {
		return err
	}
	return b.change(ctx, main, e.Timestamp, true, func(c *Cart) bool {
		if !c.ApplyTracked(t) {
			return false
		}
		if c.Currency == "" && p.Currency != "" {
			c.Currency = strings.ToUpper(p.Currency)
		}
		return true
	})
}

// clearForOrder empties the customer's carts of what was put in before
// the order: the customer bought it, as their profile's current cart
// shows. Customers without a cart keep having none.
func (s *Service) clearForOrder(ctx context.Context, b *cartBatch, e *event.Event, keys []string) error {
	for _, k := range keys {
		if err := b.change(ctx, k, e.Timestamp, false, func(c *Cart) bool { return c.clear(e.Timestamp) }); err != nil {
			return err
		}
	}
	return nil
}
