package commerce

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/problem"
)

// Customer is who an order, a reservation or a cart belongs to, by the
// identifiers unify knows them by.
type Customer struct {
	UserID      string `json:"user_id,omitempty"`
	AnonymousID string `json:"anonymous_id,omitempty"`
	Email       string `json:"email,omitempty"`
}

// Key is the customer's most stable identifier as kind:value, "" if none.
func (c Customer) Key() string {
	switch {
	case c.UserID != "":
		return "user_id:" + c.UserID
	case c.Email != "":
		return "email:" + strings.ToLower(c.Email)
	case c.AnonymousID != "":
		return "anonymous_id:" + c.AnonymousID
	}
	return ""
}

// Fulfilment types.
const (
	Ship            = "ship"              // from a warehouse to the customer
	ClickCollect    = "click_collect"     // picked up in store
	ShipFromStore   = "ship_from_store"   // a store ships it
	InStoreDelivery = "in_store_delivery" // ordered in store, delivered home
)

// Fulfilments lists the fulfilment types.
var Fulfilments = []string{Ship, ClickCollect, ShipFromStore, InStoreDelivery}

// Channels an order can be placed on.
var Channels = []string{"web", "app", "store", "call_center"}

// Status is where an order is in its life.
type Status string

// The order statuses.
const (
	Placed         Status = "placed"
	Confirmed      Status = "confirmed"
	Picking        Status = "picking"
	ReadyForPickup Status = "ready_for_pickup"
	Collected      Status = "collected"
	Expired        Status = "expired" // not collected in time; still on the pickup shelf
	Restocked      Status = "restocked"
	Shipped        Status = "shipped"
	Delivered      Status = "delivered"
	Cancelled      Status = "cancelled"
)

// StockEffect is what a transition does to the order's reservations.
type StockEffect int

// The stock effects of transitions.
const (
	NoEffect StockEffect = iota
	// Consume: the goods leave: on hand and reserved both drop.
	Consume
	// Release: the goods go back to sale: reserved drops.
	Release
)

type edge struct {
	from, to Status
	pickup   bool // click & collect only; false: shipping types only; both: see common
	common   bool
	effect   StockEffect
}

// transitions is the status machine. Click & collect goes through picking
// to the pickup shelf; the shipping types go out and are delivered.
var transitions = []edge{
	{Placed, Confirmed, false, true, NoEffect},
	{Placed, Cancelled, false, true, Release},
	{Confirmed, Cancelled, false, true, Release},
	{Confirmed, Picking, false, true, NoEffect},
	{Picking, Cancelled, false, true, Release},
	{Picking, ReadyForPickup, true, false, NoEffect},
	{ReadyForPickup, Collected, true, false, Consume},
	{ReadyForPickup, Expired, true, false, NoEffect},
	{ReadyForPickup, Cancelled, true, false, Release},
	{Expired, Restocked, true, false, Release},
	{Expired, Collected, true, false, Consume}, // the customer came late, the goods were still there
	{Confirmed, Shipped, false, false, Consume},
	{Picking, Shipped, false, false, Consume},
	{Shipped, Delivered, false, false, NoEffect},
}

// TransitionError refuses a status change the machine does not allow.
type TransitionError struct {
	OrderID    string
	Fulfilment string
	From, To   Status
	Allowed    []Status // where the order can go from From
}

func (e *TransitionError) Error() string {
	allowed := "nowhere: it is final"
	if len(e.Allowed) > 0 {
		s := make([]string, len(e.Allowed))
		for i, a := range e.Allowed {
			s[i] = string(a)
		}
		allowed = strings.Join(s, ", ")
	}
	return fmt.Sprintf("commerce: order %s (%s) cannot go from %s to %s; from %s it can go to %s",
		e.OrderID, e.Fulfilment, e.From, e.To, e.From, allowed)
}

// Describe reports the order, the change refused and where it can go.
func (e *TransitionError) Describe() problem.Problem {
	allowed := make([]string, 0, len(e.Allowed))
	for _, s := range e.Allowed {
		allowed = append(allowed, string(s))
	}
	return problem.Problem{Kind: problem.KindConflict, Code: "illegal_transition", Message: e.Error(), Details: map[string]any{
		"order_id": e.OrderID, "from": e.From, "to": e.To, "allowed": allowed}}
}

// Next lists the statuses an order of a fulfilment type can go to from s.
func Next(fulfilment string, s Status) []Status {
	var out []Status
	for _, t := range transitions {
		if t.from == s && t.applies(fulfilment) {
			out = append(out, t.to)
		}
	}
	return out
}

func (t edge) applies(fulfilment string) bool {
	return t.common || t.pickup == (fulfilment == ClickCollect)
}

// Transition returns the stock effect of moving o to status to, or a
// *TransitionError if the machine does not allow it.
func Transition(o *Order, to Status) (StockEffect, error) {
	for _, t := range transitions {
		if t.from == o.Status && t.to == to && t.applies(o.Fulfilment) {
			return t.effect, nil
		}
	}
	return NoEffect, &TransitionError{OrderID: o.ID, Fulfilment: o.Fulfilment, From: o.Status, To: to, Allowed: Next(o.Fulfilment, o.Status)}
}

// Line is one product of an order.
type Line struct {
	SKU       string  `json:"sku"`
	ProductID string  `json:"product_id,omitempty"`
	Name      string  `json:"name,omitempty"`
	Category  string  `json:"category,omitempty"`
	Price     float64 `json:"price"`
	Quantity  int64   `json:"quantity"`
	Returned  int64   `json:"returned,omitempty"`
}

// Order is an order placed on any channel.
type Order struct {
	ID         string    `json:"id"`
	Channel    string    `json:"channel"`
	Fulfilment string    `json:"fulfilment"`
	Location   string    `json:"location_id"` // the store or warehouse that fulfils it
	Status     Status    `json:"status"`
	Customer   Customer  `json:"customer"`
	Lines      []Line    `json:"lines"`
	Currency   string    `json:"currency"`
	Total      float64   `json:"total"`
	History    []Step    `json:"history"`
	Version    int64     `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// Idem is the client's idempotency key, if any: the engines store it
	// with the new order.
	Idem *IdempotencyKey `json:"-"`
}

// Step is one status the order went through.
type Step struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
	Note   string    `json:"note,omitempty"`
}

// Validate checks a new order and computes its total.
func (o *Order) Validate() error {
	if o.ID != "" {
		if err := checkID("id", o.ID); err != nil {
			return err
		}
	}
	if !slices.Contains(Channels, o.Channel) {
		return invalid("channel", "must be one of %s", strings.Join(Channels, ", "))
	}
	if !slices.Contains(Fulfilments, o.Fulfilment) {
		return invalid("fulfilment", "must be one of %s", strings.Join(Fulfilments, ", "))
	}
	if o.Location == "" {
		return invalid("location_id", "is required: the store or warehouse that fulfils the order")
	}
	if o.Customer.Key() == "" {
		return invalid("customer", "needs a user_id, an email or an anonymous_id")
	}
	if len(o.Lines) == 0 {
		return invalid("lines", "an order needs at least one line")
	}
	o.Currency = strings.ToUpper(o.Currency)
	if len(o.Currency) != 3 {
		return invalid("currency", "must be an ISO 4217 code such as EUR")
	}
	seen := map[string]bool{}
	total := 0.0
	for i, l := range o.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		if err := checkID(field+".sku", l.SKU); err != nil {
			return err
		}
		if seen[l.SKU] {
			return invalid(field+".sku", "%s appears on two lines; put the quantity on one", l.SKU)
		}
		seen[l.SKU] = true
		if err := CheckQuantity(field+".quantity", l.Quantity, 1); err != nil {
			return err
		}
		if l.Price < 0 || math.IsNaN(l.Price) {
			return invalid(field+".price", "must be >= 0")
		}
		total += l.Price * float64(l.Quantity)
	}
	o.Total = math.Round(total*100) / 100
	return nil
}

// OrderQuery selects orders, newest first.
type OrderQuery struct {
	Customer string // a Customer.Key()
	Status   Status
	Before   string // order id, for paging
	Limit    int
}
