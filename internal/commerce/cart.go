package commerce

import (
	"fmt"
	"slices"
	"time"
)

// Cart is a customer's one cart, shared by every channel: the web shop,
// the app, a store associate's tablet and the call center load the same,
// the customer's profile and the staff's tasks show it.
type Cart struct {
	// Customer is the key the cart is kept under: an identifier as
	// kind:value (user_id:42, anonymous_id:a1b2, email:…).
	Customer  string     `json:"customer"`
	Items     []CartItem `json:"items"`
	Currency  string     `json:"currency,omitempty"`
	Version   int64      `json:"version"`
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
	// KeptBy are the channels that save this cart through the API: their
	// tracked Product Added and Removed are not applied to it again.
	KeptBy []string `json:"kept_by,omitempty"`
	// AppliedSeq is the log position of the last tracked event applied,
	// so that the log consumer applies each one once.
	AppliedSeq int64 `json:"applied_seq,omitempty"`
	// ClearedAt is the time of the latest order that emptied it: what was
	// put in before it was bought.
	ClearedAt time.Time `json:"cleared_at,omitzero"`
}

// EmptyCart is the cart of a customer who has none saved (Version 0).
func EmptyCart(customer string) *Cart { return &Cart{Customer: customer, Items: []CartItem{}} }

// touch sets the cart's time to at, or just after its current time: every
// version of a cart is later than the previous one, so that "the latest
// Cart Updated by event time" is its latest version even when the clock
// has not moved.
func (c *Cart) touch(at time.Time) {
	if !at.After(c.UpdatedAt) {
		at = c.UpdatedAt.Add(time.Microsecond)
	}
	c.UpdatedAt = at
}

// clear drops the items last changed at or before at (an order's time):
// the customer bought them. It reports whether the cart changed.
func (c *Cart) clear(at time.Time) bool {
	if !at.After(c.ClearedAt) {
		return false
	}
	c.ClearedAt = at
	c.Items = slices.DeleteFunc(c.Items, func(it CartItem) bool { return !it.UpdatedAt.After(at) })
	return true
}

// touchpoint is the order channel a source channel stands for (a cart is
// saved on web, app, store or call_center; events come from ios, pos, ...).
func touchpoint(ch string) string {
	switch ch {
	case "ios", "android":
		return "app"
	case "pos":
		return "store"
	}
	return ch
}

// Tracked is one Product Added (positive Quantity) or Product Removed
// (negative) from the tracking API, as the cart applies it.
type Tracked struct {
	Seq     int64
	Channel string
	At      time.Time
	Item    CartItem // Quantity: the change
}

// ApplyTracked applies t to c: the quantity of its SKU changes (a line at
// zero or below is removed), its name, category and price are the event's
// when it has them, and its time is the event's. It reports whether c
// changed; it does not when c applied t before (its log position), when t
// comes from a channel that keeps c through the API (that client's save
// already says what the cart holds), or when t is older than the last
// order that emptied c.
func (c *Cart) ApplyTracked(t Tracked) bool {
	if (t.Seq > 0 && t.Seq <= c.AppliedSeq) || slices.Contains(c.KeptBy, touchpoint(t.Channel)) || !t.At.After(c.ClearedAt) {
		return false
	}
	if t.Seq > c.AppliedSeq {
		c.AppliedSeq = t.Seq
	}
	i := slices.IndexFunc(c.Items, func(x CartItem) bool { return x.SKU == t.Item.SKU })
	if i < 0 {
		if t.Item.Quantity <= 0 {
			return false
		}
		it := t.Item
		it.UpdatedAt = t.At
		c.Items = append(c.Items, it)
		return true
	}
	cur := &c.Items[i]
	cur.Quantity += t.Item.Quantity
	if cur.Quantity <= 0 {
		c.Items = slices.Delete(c.Items, i, i+1)
		return true
	}
	if t.Item.Name != "" {
		cur.Name = t.Item.Name
	}
	if t.Item.Category != "" {
		cur.Category = t.Item.Category
	}
	if t.Item.Price > 0 {
		cur.Price = t.Item.Price
	}
	if t.At.After(cur.UpdatedAt) {
		cur.UpdatedAt = t.At
	}
	return true
}

// CartItem is a quantity of one SKU in a cart.
type CartItem struct {
	SKU       string    `json:"sku"`
	ProductID string    `json:"product_id,omitempty"`
	Name      string    `json:"name,omitempty"`
	Category  string    `json:"category,omitempty"`
	Price     float64   `json:"price"`
	Quantity  int64     `json:"quantity"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Total is the cart's value.
func (c *Cart) Total() float64 {
	t := 0.0
	for _, it := range c.Items {
		t += it.Price * float64(it.Quantity)
	}
	return float64(int64(t*100+0.5)) / 100
}

// ValidateItems checks the items a client sends.
func ValidateItems(items []CartItem) error {
	seen := map[string]bool{}
	for i, it := range items {
		field := fmt.Sprintf("items[%d]", i)
		if it.SKU == "" {
			return invalid(field+".sku", "is required")
		}
		if seen[it.SKU] {
			return invalid(field+".sku", "%s appears twice", it.SKU)
		}
		seen[it.SKU] = true
		if it.Quantity <= 0 {
			return invalid(field+".quantity", "must be at least 1 (leave the item out to remove it)")
		}
		if it.Price < 0 {
			return invalid(field+".price", "must be >= 0")
		}
	}
	return nil
}

// MergeCarts folds the anonymous cart from into into, when identification
// shows they belong to one customer. The rule: quantities of the same SKU
// add up; the price (and name) is the one of the line updated most
// recently; lines keep into's order, from's new SKUs follow. into's
// currency wins when both have one. Lines put in either cart before the
// latest order of either are dropped (it bought them). into is changed and
// returned, with a time later than both carts'.
func MergeCarts(into, from *Cart, at time.Time) *Cart {
	for _, ch := range from.KeptBy {
		if !slices.Contains(into.KeptBy, ch) {
			into.KeptBy = append(into.KeptBy, ch)
		}
	}
	into.AppliedSeq = max(into.AppliedSeq, from.AppliedSeq)
	if from.ClearedAt.After(into.ClearedAt) {
		into.ClearedAt = from.ClearedAt
	}
	for _, it := range from.Items {
		if !it.UpdatedAt.After(into.ClearedAt) {
			continue
		}
		i := slices.IndexFunc(into.Items, func(x CartItem) bool { return x.SKU == it.SKU })
		if i < 0 {
			into.Items = append(into.Items, it)
			continue
		}
		cur := &into.Items[i]
		qty := cur.Quantity + it.Quantity
		if it.UpdatedAt.After(cur.UpdatedAt) {
			*cur = it
		}
		cur.Quantity = qty
	}
	into.Items = slices.DeleteFunc(into.Items, func(it CartItem) bool { return !it.UpdatedAt.After(into.ClearedAt) })
	if into.Currency == "" {
		into.Currency = from.Currency
	}
	if !at.After(from.UpdatedAt) {
		at = from.UpdatedAt.Add(time.Microsecond)
	}
	into.touch(at)
	return into
}
