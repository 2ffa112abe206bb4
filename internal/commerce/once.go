package commerce

import "context"

// PlaceOrderOnce is PlaceOrder under a client's idempotency key (none:
// key ""): a retry with the same key and the same order gets the order
// the key placed, as it is now (replayed), even if the first answer was
// lost; the same key with another order is a *KeyReuseError. An order id
// sent in the body keeps its own rule (an id that exists is ErrConflict).
func (s *Service) PlaceOrderOnce(ctx context.Context, key string, o *Order) (placed *Order, replayed bool, err error) {
	k, err := newKey(ScopeOrder, key, o)
	if err != nil {
		return nil, false, err
	}
	return once(ctx, s, k, s.st.Order, func() (*Order, error) {
		o.Idem = k
		return s.PlaceOrder(ctx, o)
	})
}

// RecordReturnOnce is RecordReturn under a client's idempotency key
// (none: key ""): a retry with the same key and the same return gets the
// return the key recorded (replayed), instead of restocking and refunding
// twice; the same key with another return is a *KeyReuseError.
func (s *Service) RecordReturnOnce(ctx context.Context, key string, r *Return) (recorded *Return, replayed bool, err error) {
	if err := firstOf(checkID("order_id", r.OrderID), checkID("location_id", r.Location)); err != nil {
		return nil, false, err
	}
	k, err := newKey(ScopeReturn, key, r)
	if err != nil {
		return nil, false, err
	}
	return once(ctx, s, k, s.st.Return, func() (*Return, error) {
		r.Idem = k
		return s.RecordReturn(ctx, r)
	})
}
