package commerce

import (
	"context"
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
)

// Cart returns a customer's cart (empty if none). customer is the key the
// cart is kept under, kind:value.
func (s *Service) Cart(ctx context.Context, customer string) (*Cart, error) {
	if err := checkCartKey(customer); err != nil {
		return nil, err
	}
	return s.st.Cart(ctx, customer)
}

func checkCartKey(k string) error {
	kind, value, ok := strings.Cut(k, ":")
	if !ok || kind == "" || value == "" {
		return invalid("customer", "%q must be an identifier as kind:value, e.g. user_id:42 or anonymous_id:a1b2", k)
	}
	return nil
}

// SetCart replaces the items of a customer's cart and emits Cart Updated
// on channel (default web).
// version, if not 0, must be the version the client read (else ErrConflict):
// two channels editing the same cart do not overwrite each other blindly.
// Every item gets the time of the save: the client says the cart holds it
// now, so an order whose time is before the save leaves it there. The
// channel is then one that keeps the cart (Cart.KeptBy): its tracked
// Product Added and Removed are not applied to the cart again.
func (s *Service) SetCart(ctx context.Context, customer string, items []CartItem, currency, channel string, version int64) (*Cart, error) {
	if err := checkCartKey(customer); err != nil {
		return nil, err
	}
	if err := ValidateItems(items); err != nil {
		return nil, err
	}
	c, err := s.st.Cart(ctx, customer)
	if err != nil {
		return nil, err
	}
	if version != 0 && version != c.Version {
		return nil, problem.Invalid("version", "the cart changed since it was read: load it again")
	}
	now := s.o.Clock.Now()
	lines := make([]Line, len(items))
	for i, it := range items {
		lines[i] = Line{SKU: it.SKU, Name: it.Name, Category: it.Category, Price: it.Price, Quantity: it.Quantity}
	}
	if err := s.enrichLines(ctx, lines); err != nil {
		return nil, err
	}
	c.touch(now)
	next := make([]CartItem, len(items))
	for i, l := range lines {
		next[i] = CartItem{SKU: l.SKU, ProductID: l.ProductID, Name: l.Name, Category: l.Category, Price: l.Price, Quantity: l.Quantity, UpdatedAt: c.UpdatedAt}
	}
	c.Items = next
	if currency != "" {
		c.Currency = strings.ToUpper(currency)
	}
	if channel == "" {
		channel = "web"
	}
	if tp := touchpoint(channel); !slices.Contains(c.KeptBy, tp) {
		c.KeptBy = append(c.KeptBy, tp)
	}
	if err := s.w.SaveCart(ctx, c, s.outbox(func(e Effect) []*event.Event { return []*event.Event{CartEvent(e.Cart, channel, now)} })); err != nil {
		return nil, err
	}
	s.kick()
	return c, nil
}

// MergeCart folds the cart kept under from (an anonymous id) into the cart
// kept under into (the known customer) by the rule of MergeCarts, deletes
// from's cart, and emits Cart Updated for the merged cart. It does nothing
// when from has no cart, so handling the same identification twice merges
// once.
func (s *Service) MergeCart(ctx context.Context, from, into string) (*Cart, bool, error) {
	if from == into {
		return nil, false, nil
	}
	now := s.o.Clock.Now()
	c, merged, err := s.w.MergeCart(ctx, from, into, func(dst, src *Cart) *Cart { return MergeCarts(dst, src, now) },
		s.outbox(func(e Effect) []*event.Event { return []*event.Event{CartEvent(e.Cart, ChannelCommerce, now)} }))
	if err != nil || !merged {
		return c, merged, err
	}
	s.kick()
	return c, true, nil
}
