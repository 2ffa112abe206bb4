package commerce

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
)

// Names of the events commerce appends to the log. Order status events are
// "Order " and the status in title case: Order Placed, Order Ready For
// Pickup, Order Collected, ... Where an event means what one of the
// Segment e-commerce spec's means, it has the spec's name and properties,
// so that profiles, segments and journeys read a commerce order exactly as
// a till's or a web shop's: a placed order is also an Order Completed, an
// order that will not be fulfilled an Order Cancelled, a refund an Order
// Refunded.
const (
	EventOrderCompleted      = profile.EventOrderCompleted
	EventOrderCancelled      = profile.EventOrderCancelled
	EventOrderRefunded       = profile.EventOrderRefunded
	EventOrderReturned       = "Order Returned"
	EventBackInStock         = "Back In Stock"
	EventLowStock            = "Low Stock"
	EventCartUpdated         = profile.EventCartUpdated
	EventProductReserved     = "Product Reserved"
	EventReservationReleased = "Reservation Released"
	EventReservationExpired  = "Reservation Expired"
	// EventRefundIssued is what Order Refunded was called before; logs
	// that hold it still lower lifetime value.
	EventRefundIssued = profile.EventRefundIssued
)

// OrderEventName is the event a transition to s emits.
func OrderEventName(s Status) string {
	words := strings.Split(string(s), "_")
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return "Order " + strings.Join(words, " ")
}

// ChannelCommerce is the channel of customer events that no touchpoint
// caused: a reservation expiring, an anonymous cart merged on login, a
// cart updated after a tracked Product Added. Profiles do not count them
// as the customer's activity.
const ChannelCommerce = profile.CommerceChannel

// newEvent builds one of commerce's events. The customer's identifiers go
// where unify looks for them (userId, anonymousId, context.traits.email),
// so the event lands on the customer's timeline. Events about a customer
// carry the channel the change came from (unify resolves identities only
// on non-internal channels); stock events, about no one, are internal.
func newEvent(name, messageID, channel string, c Customer, at, now time.Time, props map[string]any) *event.Event {
	body, _ := json.Marshal(props) // maps of plain values always encode
	e := &event.Event{
		MessageID: messageID, Type: event.Track, Event: name,
		UserID: c.UserID, AnonymousID: c.AnonymousID,
		Properties: body, Timestamp: at, ReceivedAt: now,
		SourceID: SourceID, Channel: channel,
	}
	if c.Email != "" {
		e.Context, _ = json.Marshal(map[string]any{"traits": map[string]string{"email": c.Email}})
	}
	return e
}

// products is the Segment e-commerce spec's products array.
func products(lines []Line) []map[string]any {
	out := make([]map[string]any, 0, len(lines))
	for _, l := range lines {
		out = append(out, map[string]any{"product_id": l.ProductID, "sku": l.SKU, "name": l.Name,
			"price": l.Price, "quantity": l.Quantity, "category": l.Category})
	}
	return out
}

// OrderEvent is the event of o reaching its current status.
func OrderEvent(o *Order, now time.Time) *event.Event {
	return newEvent(OrderEventName(o.Status), fmt.Sprintf("commerce-order-%s-%s", o.ID, o.Status), o.Channel, o.Customer, o.UpdatedAt, now, orderProps(o))
}

func orderProps(o *Order) map[string]any {
	return map[string]any{
		"order_id": o.ID, "products": products(o.Lines), "total": o.Total, "currency": o.Currency,
		"store_id": o.Location, "fulfilment": o.Fulfilment, "channel": o.Channel, "status": o.Status,
	}
}

// OrderEvents are the events of o reaching its current status: its status
// event, and the spec's event when the status means one. Placed is Order
// Completed (the customer completed the order: it counts in their
// profile); restocked (never collected, the goods went back on sale) is
// Order Cancelled, as cancelled itself already is. An order is never
// both cancelled and restocked, so the message id stays unique.
func OrderEvents(o *Order, now time.Time) []*event.Event {
	out := []*event.Event{OrderEvent(o, now)}
	switch o.Status {
	case Placed:
		out = append(out, newEvent(EventOrderCompleted, "commerce-order-"+o.ID+"-completed", o.Channel, o.Customer, o.UpdatedAt, now, orderProps(o)))
	case Restocked:
		props := orderProps(o)
		props["reason"] = "not collected"
		out = append(out, newEvent(EventOrderCancelled, "commerce-order-"+o.ID+"-cancelled", o.Channel, o.Customer, o.UpdatedAt, now, props))
	}
	return out
}

// ReturnEvents are the events of a recorded return: Order Returned, and
// Order Refunded (the spec's name; Refund Issued before) when money was
// paid back. Only the refund lowers lifetime value: an exchange keeps it.
func ReturnEvents(o *Order, r *Return, now time.Time) []*event.Event {
	var lines []Line
	for _, rl := range r.Lines {
		for _, l := range o.Lines {
			if l.SKU == rl.SKU {
				l.Quantity = rl.Quantity
				lines = append(lines, l)
			}
		}
	}
	props := map[string]any{
		"order_id": o.ID, "return_id": r.ID, "products": products(lines), "store_id": r.Location, "channel": r.Channel,
		"resolution": r.Resolution, "refunded": r.Refunded, "currency": o.Currency, "lines": r.Lines,
	}
	out := []*event.Event{newEvent(EventOrderReturned, "commerce-return-"+r.ID, r.Channel, o.Customer, r.CreatedAt, now, props)}
	if r.Refunded > 0 {
		out = append(out, newEvent(EventOrderRefunded, "commerce-refund-"+r.ID, r.Channel, o.Customer, r.CreatedAt, now, map[string]any{
			"order_id": o.ID, "return_id": r.ID, "total": r.Refunded, "currency": o.Currency, "store_id": r.Location,
			"products": products(lines),
		}))
	}
	return out
}

// StockEvents turns stock changes into Back In Stock (available went from
// ≤ 0 to > 0 at a location) and Low Stock (available fell from above
// threshold to threshold or below). The row version makes each message id
// unique and stable.
func StockEvents(changes []StockChange, threshold int64, now time.Time) []*event.Event {
	var out []*event.Event
	for _, c := range changes {
		before, after := c.Before.Available(), c.After.Available()
		props := map[string]any{"sku": c.After.SKU, "store_id": c.After.Location, "available": after, "on_hand": c.After.OnHand}
		key := fmt.Sprintf("commerce-stock-%s@%s-v%d", c.After.SKU, c.After.Location, c.After.Version)
		at := c.After.UpdatedAt
		if before <= 0 && after > 0 {
			out = append(out, newEvent(EventBackInStock, key+"-back", profile.InternalChannel, Customer{}, at, now, props))
		}
		if before > threshold && after <= threshold {
			props["threshold"] = threshold
			out = append(out, newEvent(EventLowStock, key+"-low", profile.InternalChannel, Customer{}, at, now, props))
		}
	}
	return out
}

// ReservationEvent is the event of a reservation made (on channel) or
// ended.
func ReservationEvent(r *Reservation, channel string, now time.Time) *event.Event {
	name, at := EventProductReserved, r.CreatedAt
	switch r.Status {
	case ReservationReleased, ReservationConsumed:
		name, at = EventReservationReleased, r.EndedAt
	case ReservationExpired:
		name, at = EventReservationExpired, r.EndedAt
	}
	return newEvent(name, fmt.Sprintf("commerce-reservation-%s-%s", r.ID, r.Status), channel, r.Customer, at, now, map[string]any{
		"reservation_id": r.ID, "sku": r.SKU, "store_id": r.Location, "quantity": r.Quantity, "order_id": r.OrderID,
		"status": r.Status, "expires_at": r.ExpiresAt,
	})
}

// CartEvent is Cart Updated for c, owned by the customer c names, changed
// on channel: the whole cart, each item with the time it last changed.
// Profiles take the latest by event time as the customer's current cart.
func CartEvent(c *Cart, channel string, now time.Time) *event.Event {
	cust := Customer{}
	kind, value, _ := strings.Cut(c.Customer, ":")
	switch kind {
	case "user_id":
		cust.UserID = value
	case "anonymous_id":
		cust.AnonymousID = value
	case "email":
		cust.Email = value
	}
	items := make([]map[string]any, 0, len(c.Items))
	for _, it := range c.Items {
		items = append(items, map[string]any{"product_id": it.ProductID, "sku": it.SKU, "name": it.Name,
			"price": it.Price, "quantity": it.Quantity, "category": it.Category, "updated_at": it.UpdatedAt})
	}
	e := newEvent(EventCartUpdated, fmt.Sprintf("commerce-cart-%s-v%d-%d", c.Customer, c.Version, c.UpdatedAt.UnixMicro()), channel, cust, c.UpdatedAt, now, map[string]any{
		"cart_id": c.Customer, "products": items, "total": c.Total(), "currency": c.Currency, "version": c.Version,
	})
	switch kind {
	case "phone", "loyalty_id", "store_customer_id":
		// A cart kept under a till customer's card or phone: the context
		// trait unify finds the profile by.
		e.Context, _ = json.Marshal(map[string]any{"traits": map[string]string{kind: value}})
	}
	return e
}
