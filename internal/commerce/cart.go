package commerce

import (
	"fmt"
	"slices"
	"time"
)

// Cart is a customer's one cart, shared by every channel: the web shop,
// the app, a store associate's tablet and the call center load the same.
type Cart struct {
	// Customer is the key the cart is kept under: an identifier as
	// kind:value (user_id:42, anonymous_id:a1b2, email:…).
	Customer  string     `json:"customer"`
	Items     []CartItem `json:"items"`
	Currency  string     `json:"currency,omitempty"`
	Version   int64      `json:"version"`
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
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
// currency wins when both have one. into is changed and returned.
func MergeCarts(into, from *Cart, at time.Time) *Cart {
	for _, it := range from.Items {
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
	if into.Currency == "" {
		into.Currency = from.Currency
	}
	into.UpdatedAt = at
	return into
}
