package profile

import (
	"cmp"
	"slices"
	"time"
)

// EventCartUpdated is the event commerce appends with the whole cart each
// time the one cart changes (an API save, a tracked Product Added or
// Removed it applied, a merge on login, an order).
const EventCartUpdated = "Cart Updated"

// ParcoursSource is the source of the events Parcours appends itself
// (commerce's among them). Only commerce's Cart Updated is a cart: a
// client's own event of that name is just an event.
const ParcoursSource = "src_parcours"

// CommerceChannel is the channel of the customer events commerce appends
// that no touchpoint caused (a cart it updated after a tracked event, a
// cart merged on login, a reservation expiring). They are on the timeline
// and fold into the profile but are not customer activity: they do not
// count in channels_used, last_channel or last_seen.
const CommerceChannel = "commerce"

// CartLine is one Product Added (positive quantity) or Product Removed
// (negative) after the last order, or one item of a cart snapshot.
type CartLine struct {
	SKU      string    `json:"sku"`
	Name     string    `json:"name,omitempty"`
	Price    float64   `json:"price,omitempty"`
	Quantity int       `json:"quantity"`
	At       time.Time `json:"at"`
	Key      string    `json:"key,omitempty"`
}

// CartSnapshot is the whole cart as commerce last announced it.
type CartSnapshot struct {
	Items []CartLine `json:"items"`
	At    time.Time  `json:"at"`
	Key   string     `json:"key"`
}

func (s *CartSnapshot) newer(o *CartSnapshot) bool {
	return o == nil || (Stamped{At: s.At, Key: s.Key}).newer(Stamped{At: o.At, Key: o.Key})
}

// maxCartLines bounds a cart: beyond it the oldest lines are dropped. The
// profile is read and written whole, so a long cart costs on every event.
const maxCartLines = 50

// snapshot folds one of commerce's Cart Updated: the latest by event time
// is the cart. Product Added and Removed are no longer kept from then on:
// commerce applies them to the one cart and announces the result.
func (a *Aggregates) snapshot(e eventAt, props *eventProps) {
	s := &CartSnapshot{At: e.at, Key: e.key, Items: []CartLine{}}
	for _, p := range props.Products {
		sku := p.SKU
		if sku == "" {
			sku = p.ProductID
		}
		if sku == "" || p.Quantity <= 0 {
			continue
		}
		l := CartLine{SKU: sku, Name: p.Name, Quantity: int(p.Quantity), At: p.UpdatedAt}
		if p.Price != nil {
			l.Price = *p.Price
		}
		if l.At.IsZero() {
			l.At = e.at
		}
		s.Items = append(s.Items, l)
		if len(s.Items) == maxCartLines {
			break
		}
	}
	if s.newer(a.CartSnap) {
		a.CartSnap = s
	}
	a.Cart = nil
}

type eventAt struct {
	at  time.Time
	key string
}

func (a *Aggregates) addCartLine(l CartLine) {
	if l.SKU == "" || a.CartSnap != nil {
		return
	}
	a.Cart = append(a.Cart, l)
	if len(a.Cart) > maxCartLines {
		oldest := 0
		for i, c := range a.Cart {
			if (Stamped{At: a.Cart[oldest].At, Key: a.Cart[oldest].Key}).newer(Stamped{At: c.At, Key: c.Key}) {
				oldest = i
			}
		}
		a.Cart = append(a.Cart[:oldest], a.Cart[oldest+1:]...)
	}
}

// clearCart drops the lines up to the last checkout.
func (a *Aggregates) clearCart() {
	kept := a.Cart[:0]
	for _, l := range a.Cart {
		if l.At.After(a.CheckoutAt) {
			kept = append(kept, l)
		}
	}
	a.Cart = kept
}

// mergeCart folds o's cart into a's: the newer snapshot, else both
// profiles' lines.
func (a *Aggregates) mergeCart(o *Aggregates) {
	if o.CheckoutAt.After(a.CheckoutAt) {
		a.CheckoutAt = o.CheckoutAt
	}
	if o.CartSnap != nil && o.CartSnap.newer(a.CartSnap) {
		a.CartSnap = o.CartSnap
	}
	if a.CartSnap != nil {
		a.Cart = nil
		return
	}
	for _, l := range o.Cart {
		a.addCartLine(l)
	}
	a.clearCart()
}

// CartItem is one product in a current cart.
type CartItem struct {
	SKU      string  `json:"sku"`
	Name     string  `json:"name,omitempty"`
	Price    float64 `json:"price,omitempty"`
	Quantity int     `json:"quantity"`
}

// cart is the current cart: commerce's latest snapshot when there is one,
// else (a log from before commerce kept carts, or no commerce consumer) the
// Product Added minus Product Removed since the last order. Either way the
// items changed before the last order are gone: the order took them.
func cart(a *Aggregates) []CartItem {
	lines := a.Cart
	if a.CartSnap != nil {
		lines = a.CartSnap.Items
	}
	// Later lines name and price the item: by event time, not arrival.
	lines = slices.Clone(lines)
	slices.SortStableFunc(lines, func(x, y CartLine) int { return cmp.Or(x.At.Compare(y.At), cmp.Compare(x.Key, y.Key)) })
	bySKU := map[string]*CartItem{}
	var order []string
	for _, l := range lines {
		if !l.At.After(a.CheckoutAt) {
			continue
		}
		it, ok := bySKU[l.SKU]
		if !ok {
			it = &CartItem{SKU: l.SKU}
			bySKU[l.SKU] = it
			order = append(order, l.SKU)
		}
		it.Quantity += l.Quantity
		if l.Name != "" {
			it.Name = l.Name
		}
		if l.Price != 0 {
			it.Price = l.Price
		}
	}
	slices.Sort(order)
	items := []CartItem{}
	for _, sku := range order {
		if it := bySKU[sku]; it.Quantity > 0 {
			items = append(items, *it)
		}
	}
	return items
}
