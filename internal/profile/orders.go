package profile

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// The order vocabulary the profile reads, after the Segment e-commerce
// spec (v2). Commerce emits the same names for orders placed through
// /api/v1/orders, so a till, a web shop's analytics and commerce count
// alike.
const (
	// EventOrderCompleted counts an order (once per order_id).
	EventOrderCompleted = "Order Completed"
	// EventOrderRefunded takes money back out of lifetime value.
	EventOrderRefunded = "Order Refunded"
	// EventOrderCancelled takes the order out of the counts.
	EventOrderCancelled = "Order Cancelled"
	// EventRefundIssued is what commerce called Order Refunded before it
	// spoke the spec; logs that hold it still count it as a refund.
	EventRefundIssued = "Refund Issued"
)

// maxOrders bounds the orders a profile remembers one by one (to
// recognise the same order_id twice, a cancellation or a refund). Past it
// the oldest are folded into totals: the profile is read and written
// whole on every event.
const maxOrders = 100

// OrderBook is what the order traits are derived from: the orders by id,
// so that the same order reported twice (a till's Order Completed and the
// commerce order, a retried receipt) counts once whatever the arrival
// order, and the totals of the orders folded out of it.
type OrderBook struct {
	ByID   map[string]*OrderEntry `json:"by_id,omitempty"`
	Folded FoldedOrders           `json:"folded,omitzero"`
	// Unmatched is what refunds naming no order took back, in cents.
	Unmatched int64 `json:"unmatched_refunds,omitempty"`
}

// OrderEntry is one order: the Order Completed that counts for it (the
// earliest by event time, then message id), and what refunds and
// cancellations did to it. Any of these may arrive first.
type OrderEntry struct {
	At         time.Time `json:"at,omitzero"` // zero: no Order Completed seen yet
	Key        string    `json:"key,omitempty"`
	Cents      int64     `json:"cents,omitempty"`
	Tags       []string  `json:"tags,omitempty"` // category:… and brand:… of its products
	Refunded   int64     `json:"refunded,omitempty"`
	FullRefund bool      `json:"full_refund,omitempty"`
	Cancelled  bool      `json:"cancelled,omitempty"`
	First      time.Time `json:"first"` // earliest event about it: the oldest fold first
}

// FoldedOrders are the totals of the orders no longer kept one by one
// (and, for a profile stored before orders were kept by id, its totals).
type FoldedOrders struct {
	Orders int       `json:"orders,omitempty"`
	Cents  int64     `json:"cents,omitempty"`
	Last   time.Time `json:"last,omitzero"`
	Bought Counts    `json:"bought,omitempty"`
}

// counted reports whether the entry is an order that counts.
func (o *OrderEntry) counted() bool { return !o.At.IsZero() && !o.Cancelled }

// value is what the entry adds to lifetime value: the order net of its
// refunds (never below zero: a refund recorded twice cannot take more than
// the order), or, for an order not seen, minus its refunds.
func (o *OrderEntry) value() int64 {
	switch {
	case o.Cancelled:
		return 0
	case o.At.IsZero():
		return -o.Refunded
	case o.FullRefund:
		return 0
	}
	return max(0, o.Cents-o.Refunded)
}

func (b *OrderBook) entry(id string, at time.Time) *OrderEntry {
	if b.ByID == nil {
		b.ByID = map[string]*OrderEntry{}
	}
	o := b.ByID[id]
	if o == nil {
		o = &OrderEntry{First: at}
		b.ByID[id] = o
	}
	if at.Before(o.First) {
		o.First = at
	}
	return o
}

// complete records an Order Completed; the earliest one of an order wins.
func (b *OrderBook) complete(id string, at time.Time, key string, cents int64, tags []string) {
	o := b.entry(id, at)
	if o.At.IsZero() || at.Before(o.At) || (at.Equal(o.At) && key < o.Key) {
		o.At, o.Key, o.Cents, o.Tags = at, key, cents, tags
	}
}

// refund records an Order Refunded of cents (full: the whole order).
func (b *OrderBook) refund(id string, at time.Time, cents int64, full bool) {
	if id == "" {
		b.Unmatched += cents
		return
	}
	o := b.entry(id, at)
	o.Refunded += cents
	o.FullRefund = o.FullRefund || full
}

func (b *OrderBook) cancel(id string, at time.Time) {
	b.entry(id, at).Cancelled = true
}

// merge folds o into b: the same order in both is one order.
func (b *OrderBook) merge(o *OrderBook) {
	for id, x := range o.ByID {
		y := b.entry(id, x.First)
		if !x.At.IsZero() {
			b.complete(id, x.At, x.Key, x.Cents, x.Tags)
		}
		y.Refunded += x.Refunded
		y.FullRefund = y.FullRefund || x.FullRefund
		y.Cancelled = y.Cancelled || x.Cancelled
	}
	b.Unmatched += o.Unmatched
	b.Folded.add(&o.Folded)
}

func (f *FoldedOrders) add(o *FoldedOrders) {
	f.Orders += o.Orders
	f.Cents += o.Cents
	if o.Last.After(f.Last) {
		f.Last = o.Last
	}
	if len(o.Bought) > 0 && f.Bought == nil {
		f.Bought = Counts{}
	}
	addCounts(f.Bought, o.Bought)
}

// compact folds the oldest orders past maxOrders into the totals.
func (b *OrderBook) compact() {
	if len(b.ByID) <= maxOrders {
		return
	}
	ids := make([]string, 0, len(b.ByID))
	for id := range b.ByID {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(x, y string) int {
		return cmp.Or(b.ByID[x].First.Compare(b.ByID[y].First), cmp.Compare(x, y))
	})
	for _, id := range ids[:len(ids)-maxOrders] {
		o := b.ByID[id]
		b.Folded.Cents += o.value()
		if o.counted() {
			b.Folded.Orders++
			if o.At.After(b.Folded.Last) {
				b.Folded.Last = o.At
			}
			if len(o.Tags) > 0 && b.Folded.Bought == nil {
				b.Folded.Bought = Counts{}
			}
			for _, t := range o.Tags {
				b.Folded.Bought[t]++
			}
		}
		delete(b.ByID, id)
	}
}

// deriveOrders sets the order aggregates from the book.
func (a *Aggregates) deriveOrders() {
	b := a.Book
	orders, cents, last := b.Folded.Orders, b.Folded.Cents-b.Unmatched, b.Folded.Last
	bought := Counts{}
	addCounts(bought, b.Folded.Bought)
	for _, o := range b.ByID {
		cents += o.value()
		if !o.counted() {
			continue
		}
		orders++
		if o.At.After(last) {
			last = o.At
		}
		for _, t := range o.Tags {
			bought[t]++
		}
	}
	a.Orders, a.Revenue, a.LastOrderAt, a.Bought = orders, cents, last, bought
}

// orderID is the order an event is about: its order_id, else (an order
// that names none) the event itself.
func orderID(p *eventProps, messageID string) string {
	if p.OrderID != "" {
		return p.OrderID
	}
	return "event:" + messageID
}

// refundCents is a refund's amount: its revenue, else its total, else the
// sum of its products; full is true when it names none of them (the
// spec's refund of a whole order).
func refundCents(p *eventProps) (amount int64, full bool) {
	if p.Revenue != nil || p.Total != nil {
		return cents(p), false
	}
	sum, priced := 0.0, false
	for _, x := range p.Products {
		if x.Price != nil {
			q := 1.0
			if x.Quantity != 0 {
				q = float64(x.Quantity)
			}
			sum += *x.Price * q
			priced = true
		}
	}
	if priced {
		return int64(math.Round(sum * 100)), false
	}
	return 0, true
}

// tags are the category and brand names of an order's products.
func tags(p *eventProps) []string {
	var out []string
	for _, x := range p.Products {
		if x.Category != "" {
			out = append(out, tagOf("category", x.Category))
		}
		if x.Brand != "" {
			out = append(out, tagOf("brand", x.Brand))
		}
	}
	return out
}
