package commerce

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Item conditions on return.
const (
	Sellable = "sellable" // back to stock at the receiving location
	Damaged  = "damaged"  // recorded, not restocked
)

// Resolutions of a return.
const (
	Refund   = "refund"
	Exchange = "exchange"
	NoRefund = "none"
)

// Return is goods of an order brought back, on any channel, at any
// location that accepts returns.
type Return struct {
	ID       string       `json:"id"`
	OrderID  string       `json:"order_id"`
	Location string       `json:"location_id"` // where it was received
	Channel  string       `json:"channel"`
	Lines    []ReturnLine `json:"lines"`
	// Resolution is refund, exchange or none; Refunded is the amount paid
	// back, ExchangeOrderID the replacement order of an exchange.
	Resolution      string    `json:"resolution"`
	Refunded        float64   `json:"refunded"`
	ExchangeOrderID string    `json:"exchange_order_id,omitempty"`
	Note            string    `json:"note,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	// Idem is the client's idempotency key, if any: the engines store it
	// with the return.
	Idem *IdempotencyKey `json:"-"`
}

// ReturnLine is a quantity of one SKU returned, and its condition.
type ReturnLine struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	Condition string `json:"condition"` // sellable or damaged
}

// returnable are the statuses after which goods are with the customer.
var returnable = []Status{Collected, Delivered}

// ApplyReturn checks r against o and records its quantities on o's lines.
// A refund defaults to the price of the returned lines.
func ApplyReturn(o *Order, r *Return) error {
	if !slices.Contains(returnable, o.Status) {
		return invalid("order_id", "order %s is %s: only collected or delivered orders can be returned", o.ID, o.Status)
	}
	if len(r.Lines) == 0 {
		return invalid("lines", "a return needs at least one line")
	}
	value := 0.0
	for i, rl := range r.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		if rl.Condition == "" {
			r.Lines[i].Condition = Sellable
		} else if rl.Condition != Sellable && rl.Condition != Damaged {
			return invalid(field+".condition", "must be sellable or damaged")
		}
		j := slices.IndexFunc(o.Lines, func(l Line) bool { return l.SKU == rl.SKU })
		if j < 0 {
			return invalid(field+".sku", "%s is not on order %s", rl.SKU, o.ID)
		}
		l := &o.Lines[j]
		if rl.Quantity <= 0 || rl.Quantity > l.Quantity-l.Returned {
			return invalid(field+".quantity", "%d × %s cannot be returned: %d ordered, %d already returned", rl.Quantity, rl.SKU, l.Quantity, l.Returned)
		}
		l.Returned += rl.Quantity
		value += l.Price * float64(rl.Quantity)
	}
	switch r.Resolution {
	case "":
		r.Resolution = Refund
		fallthrough
	case Refund:
		if r.Refunded == 0 {
			r.Refunded = math.Round(value*100) / 100
		}
	case Exchange, NoRefund:
	default:
		return invalid("resolution", "must be refund, exchange or none")
	}
	if r.Refunded < 0 || r.Refunded > o.Total {
		return invalid("refunded", "must be between 0 and the order total %.2f", o.Total)
	}
	return nil
}

// RestockDeltas are the return's sellable lines, to put back in stock at
// the receiving location, in lock order.
func (r *Return) RestockDeltas() []Delta {
	var ds []Delta
	for _, l := range r.Lines {
		if l.Condition == Sellable {
			ds = append(ds, Delta{SKU: l.SKU, Location: r.Location, OnHand: l.Quantity})
		}
	}
	SortDeltas(ds)
	return ds
}
