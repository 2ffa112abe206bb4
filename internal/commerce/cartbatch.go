package commerce

import (
	"context"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// cartBatch gathers the cart changes the log consumer makes in one batch,
// so that they are written in one transaction: a commit per tracked
// Product Added would take the single SQLite writer from ingestion a few
// hundred times a second.
type cartBatch struct {
	s     *Service
	carts map[string]*Cart
	// ops are the changes of each cart, to apply again to the stored cart
	// after a concurrent save (an API PUT).
	ops   map[string][]func(*Cart) bool
	at    map[string]time.Time // the latest event applied to each cart
	dirty []string             // the changed carts, in order
}

func (s *Service) newCartBatch() *cartBatch {
	b := &cartBatch{s: s}
	b.reset()
	return b
}

func (b *cartBatch) reset() {
	b.carts, b.ops, b.at, b.dirty = map[string]*Cart{}, map[string][]func(*Cart) bool{}, map[string]time.Time{}, nil
}

// cart returns the cart kept under key, as this batch left it.
func (b *cartBatch) cart(ctx context.Context, key string) (*Cart, error) {
	if c, ok := b.carts[key]; ok {
		return c, nil
	}
	c, err := b.s.st.Cart(ctx, key)
	if err != nil {
		return nil, err
	}
	b.carts[key] = c
	return c, nil
}

// exists reports whether a cart is kept under key: saved before, or
// started in this batch.
func (b *cartBatch) exists(ctx context.Context, key string) (bool, error) {
	c, err := b.cart(ctx, key)
	if err != nil {
		return false, err
	}
	return c.Version > 0 || len(b.ops[key]) > 0, nil
}

// main is the key of the one cart among keys: the first with a cart, else
// the first (see Service.CartKey).
func (b *cartBatch) main(ctx context.Context, keys []string) (string, error) {
	for _, k := range keys {
		ok, err := b.exists(ctx, k)
		if err != nil || ok {
			return k, err
		}
	}
	return keys[0], nil
}

// change applies op to the cart kept under key, and keeps it to write when
// op says it changed the cart. Without create, a customer with no cart
// keeps none. at is the time of the event op applies.
func (b *cartBatch) change(ctx context.Context, key string, at time.Time, create bool, op func(*Cart) bool) error {
	ok, err := b.exists(ctx, key)
	if err != nil || (!ok && !create) || !op(b.carts[key]) {
		return err
	}
	if len(b.ops[key]) == 0 {
		b.dirty = append(b.dirty, key)
	}
	b.ops[key] = append(b.ops[key], op)
	if at.After(b.at[key]) {
		b.at[key] = at
	}
	return nil
}

// flush writes the changed carts in one transaction with their Cart
// Updated, each later than its previous version and than the events it
// applied (a profile reading both the event and the cart keeps the cart).
// After a concurrent save it reads them again and applies the changes
// again.
func (b *cartBatch) flush(ctx context.Context) error {
	defer b.reset()
	if len(b.dirty) == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		now := b.s.o.Clock.Now()
		cs := make([]*Cart, 0, len(b.dirty))
		for _, k := range b.dirty {
			c := b.carts[k]
			c.touch(later(now, b.at[k]))
			cs = append(cs, c)
		}
		err := b.s.w.SaveCarts(ctx, cs, b.s.outbox(func(e Effect) []*event.Event { return []*event.Event{CartEvent(e.Cart, ChannelCommerce, now)} }))
		if isConflict(err) && attempt < 3 {
			for _, k := range b.dirty {
				c, err := b.s.st.Cart(ctx, k)
				if err != nil {
					return err
				}
				for _, op := range b.ops[k] {
					op(c)
				}
				b.carts[k] = c
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("commerce: %d carts of a batch: %w", len(cs), err)
		}
		b.s.kick()
		return nil
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
