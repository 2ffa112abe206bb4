package profile

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/event"
)

// Aggregates are the running state behind the computed traits. Every field
// folds events commutatively (sums, counts, min/max, latest by event time),
// so that arrival order and merges give the same result as one stream.
type Aggregates struct {
	FirstSeen time.Time      `json:"first_seen,omitzero"`
	LastSeen  time.Time      `json:"last_seen,omitzero"`
	Channels  map[string]int `json:"channels,omitempty"` // events per channel
	Last      Stamped        `json:"last_channel,omitzero"`
	// Engagement counts opens and clicks per channel (email, sms, push, ...).
	Engagement map[string]int `json:"engagement,omitempty"`
	// Orders, Revenue, LastOrderAt and Bought are derived from Book after
	// each order event (they are stored too: RFM scoring reads them).
	Orders      int        `json:"orders,omitempty"`
	Revenue     int64      `json:"revenue_cents,omitempty"` // net of refunds; cents, so sums are exact in any order
	LastOrderAt time.Time  `json:"last_order_at,omitzero"`
	Bought      Counts     `json:"bought,omitempty"` // "category:shoes", "brand:x", from orders
	Book        *OrderBook `json:"order_book,omitempty"`
	Viewed      Counts     `json:"viewed,omitempty"` // same, from views
	// CheckoutAt is the latest Order Completed of any kind: what was in
	// the cart before it is gone.
	CheckoutAt time.Time     `json:"checkout_at,omitzero"`
	CartSnap   *CartSnapshot `json:"cart_snapshot,omitempty"` // commerce's latest Cart Updated
	Cart       []CartLine    `json:"cart,omitempty"`          // adds and removes since the last order, until a snapshot
	Location   Location      `json:"location,omitzero"`       // latest known
	// Locale is the latest context.locale the customer's devices sent
	// ("fr-FR", "en-GB"): the language to write to when no locale trait
	// says otherwise.
	Locale Stamped `json:"locale,omitzero"`
	// Device is the latest kind of device the customer used (mobile,
	// tablet, desktop, tv): context.device.type from an app, else read
	// from context.userAgent (device.go). Campaign is the latest
	// campaign that brought them (context.campaign.name, utm_campaign).
	Device   Stamped `json:"device,omitzero"`
	Campaign Stamped `json:"campaign,omitzero"`
	// Stores counts the customer's events at each physical store: a
	// store's tills (the event's store) and orders that name a store
	// (properties.store_id: in-store, click & collect). Store staff see
	// the customers of their stores by it.
	Stores Counts `json:"stores,omitempty"`
	// Loyalty is the member's loyalty state, from the ledger's latest
	// event (LoyaltySnapshot); nil for a non-member.
	Loyalty *LoyaltySnapshot `json:"loyalty,omitempty"`
}

// Stamped is a value with the event time it was seen at.
type Stamped struct {
	Value string    `json:"value"`
	At    time.Time `json:"at"`
	Key   string    `json:"key"` // the event's message id, to break ties
}

func (s Stamped) newer(o Stamped) bool {
	if !s.At.Equal(o.At) {
		return s.At.After(o.At)
	}
	return s.Key > o.Key
}

// Counts counts named things.
type Counts map[string]int

// Location is a last known position.
type Location struct {
	Lat     float64   `json:"lat,omitempty"`
	Lon     float64   `json:"lon,omitempty"`
	City    string    `json:"city,omitempty"`
	Country string    `json:"country,omitempty"`
	At      time.Time `json:"at"`
	Key     string    `json:"key"`
}

func newAggregates() Aggregates {
	a := Aggregates{}
	a.init()
	return a
}

func (a *Aggregates) init() {
	if a.Book == nil && (a.Orders != 0 || a.Revenue != 0) {
		// Stored before orders were kept by id: its totals stand for the
		// orders it counted, and its last order for the last checkout.
		a.Book = &OrderBook{Folded: FoldedOrders{Orders: a.Orders, Cents: a.Revenue, Last: a.LastOrderAt, Bought: a.Bought}}
		a.CheckoutAt = a.LastOrderAt
	}
	if a.Channels == nil {
		a.Channels = map[string]int{}
	}
	if a.Engagement == nil {
		a.Engagement = map[string]int{}
	}
	if a.Viewed == nil {
		a.Viewed = Counts{}
	}
	if a.Bought == nil {
		a.Bought = Counts{}
	}
}

// eventProps is what the computed traits read from an event's properties.
type eventProps struct {
	OrderID  string    `json:"order_id"`
	Revenue  *float64  `json:"revenue"`
	Total    *float64  `json:"total"`
	Category string    `json:"category"`
	Brand    string    `json:"brand"`
	SKU      string    `json:"sku"`
	Product  string    `json:"product_id"`
	Name     string    `json:"name"`
	Price    float64   `json:"price"`
	Quantity *int      `json:"quantity"`
	Channel  string    `json:"channel"`
	StoreID  string    `json:"store_id"`
	Products []product `json:"products"`
}

type product struct {
	SKU       string    `json:"sku"`
	ProductID string    `json:"product_id"`
	Name      string    `json:"name"`
	Price     *float64  `json:"price"`
	Quantity  float64   `json:"quantity"`
	Category  string    `json:"category"`
	Brand     string    `json:"brand"`
	UpdatedAt time.Time `json:"updated_at"`
}

type eventContext struct {
	Locale   string `json:"locale"`
	Location struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		City      string  `json:"city"`
		Country   string  `json:"country"`
	} `json:"location"`
}

// usesProperties lists the events whose properties computed traits read.
var usesProperties = map[string]bool{
	EventOrderCompleted: true, EventOrderRefunded: true, EventRefundIssued: true, EventOrderCancelled: true,
	EventCartUpdated: true, "Product Viewed": true, "Product List Viewed": true,
	"Product Clicked": true, "Product Added": true, "Product Removed": true,
}

// isEngagement reports whether an event is an open, a click or a reply.
func isEngagement(name string) bool {
	lower := strings.ToLower(name)
	return strings.Contains(lower, "opened") || strings.Contains(lower, "clicked") || strings.Contains(lower, "replied")
}

// engagementChannel returns the channel an engagement event is about, or "".
func engagementChannel(name string, props *eventProps) string {
	lower := strings.ToLower(name)
	for _, ch := range channel.Engaged() {
		if len(lower) > len(ch) && lower[len(ch)] == ' ' && strings.HasPrefix(lower, string(ch)) {
			return string(ch)
		}
	}
	return strings.ToLower(props.Channel)
}

// apply folds one event.
func (a *Aggregates) apply(e *event.Event) {
	if e.Channel == InternalChannel {
		return
	}
	if e.Channel != CommerceChannel {
		a.activity(e)
	}
	if isLoyaltyEvent(e.SourceID, e.Event) {
		a.loyalty(e.Properties, e.Timestamp)
		return
	}
	// Properties are decoded only for the events that use them: most events
	// carry properties no computed trait reads.
	var props eventProps
	engaged := isEngagement(e.Event)
	if len(e.Properties) > 0 && (engaged || usesProperties[e.Event]) {
		_ = json.Unmarshal(e.Properties, &props)
	}
	if engaged {
		if ch := engagementChannel(e.Event, &props); ch != "" {
			a.Engagement[ch]++
		}
	}
	if store := cmp.Or(e.StoreID, props.StoreID); store != "" {
		if a.Stores == nil {
			a.Stores = Counts{}
		}
		a.Stores[store]++
	}
	switch e.Event {
	case EventOrderCompleted:
		a.book().complete(orderID(&props, e.MessageID), e.Timestamp, e.MessageID, cents(&props), tags(&props))
		a.ordersChanged()
		if e.Timestamp.After(a.CheckoutAt) {
			a.CheckoutAt = e.Timestamp
			a.clearCart()
		}
	case EventOrderRefunded, EventRefundIssued:
		amount, full := refundCents(&props)
		if props.OrderID != "" || !full {
			a.book().refund(props.OrderID, e.Timestamp, amount, full)
			a.ordersChanged()
		}
	case EventOrderCancelled:
		if props.OrderID != "" {
			a.book().cancel(props.OrderID, e.Timestamp)
			a.ordersChanged()
		}
	case EventCartUpdated:
		if e.SourceID == ParcoursSource {
			a.snapshot(eventAt{e.Timestamp, e.MessageID}, &props)
		}
	case "Product Viewed", "Product List Viewed", "Product Clicked":
		a.Viewed.add("category", props.Category)
		a.Viewed.add("brand", props.Brand)
	case "Product Added", "Product Removed":
		if e.Timestamp.After(a.CheckoutAt) {
			q := 1
			if props.Quantity != nil {
				q = *props.Quantity
			}
			if e.Event == "Product Removed" {
				q = -q
			}
			a.addCartLine(CartLine{SKU: cmp.Or(props.SKU, props.Product), Name: props.Name, Price: props.Price, Quantity: q, At: e.Timestamp, Key: e.MessageID})
		}
	}
	a.applyDevice(e)
	var ctx eventContext
	if (bytes.Contains(e.Context, []byte(`"location"`)) || bytes.Contains(e.Context, []byte(`"locale"`))) && json.Unmarshal(e.Context, &ctx) == nil {
		if loc := strings.TrimSpace(ctx.Locale); loc != "" && len(loc) <= 35 { // BCP 47 tags are short
			if st := (Stamped{Value: loc, At: e.Timestamp, Key: e.MessageID}); a.Locale.At.IsZero() || st.newer(a.Locale) {
				a.Locale = st
			}
		}
		l := ctx.Location
		if l.Latitude != 0 || l.Longitude != 0 || l.City != "" {
			loc := Location{Lat: l.Latitude, Lon: l.Longitude, City: l.City, Country: l.Country, At: e.Timestamp, Key: e.MessageID}
			if a.Location.At.IsZero() || (Stamped{At: loc.At, Key: loc.Key}).newer(Stamped{At: a.Location.At, Key: a.Location.Key}) {
				a.Location = loc
			}
		}
	}
}

// cents is an order's amount in cents: its revenue, else its total.
func cents(p *eventProps) int64 {
	v := p.Revenue
	if v == nil {
		v = p.Total
	}
	if v == nil {
		return 0
	}
	return int64(math.Round(*v * 100))
}

func (c Counts) add(kind, name string) {
	if name != "" {
		c[tagOf(kind, name)]++
	}
}

func tagOf(kind, name string) string { return kind + ":" + strings.ToLower(name) }

// activity counts e as something the customer did, on its channel.
func (a *Aggregates) activity(e *event.Event) {
	if a.FirstSeen.IsZero() || e.Timestamp.Before(a.FirstSeen) {
		a.FirstSeen = e.Timestamp
	}
	if e.Timestamp.After(a.LastSeen) {
		a.LastSeen = e.Timestamp
	}
	a.Channels[e.Channel]++
	if s := (Stamped{e.Channel, e.Timestamp, e.MessageID}); s.newer(a.Last) {
		a.Last = s
	}
}

func (a *Aggregates) book() *OrderBook {
	if a.Book == nil {
		a.Book = &OrderBook{}
	}
	return a.Book
}

// ordersChanged derives the order traits again after the book changed.
func (a *Aggregates) ordersChanged() {
	a.Book.compact()
	a.deriveOrders()
}

// merge folds other into a.
func (a *Aggregates) merge(o *Aggregates) {
	if !o.FirstSeen.IsZero() && (a.FirstSeen.IsZero() || o.FirstSeen.Before(a.FirstSeen)) {
		a.FirstSeen = o.FirstSeen
	}
	if o.LastSeen.After(a.LastSeen) {
		a.LastSeen = o.LastSeen
	}
	addCounts(a.Channels, o.Channels)
	if o.Last.newer(a.Last) {
		a.Last = o.Last
	}
	addCounts(a.Engagement, o.Engagement)
	if o.Book != nil {
		a.book().merge(o.Book)
		a.ordersChanged()
	}
	addCounts(a.Viewed, o.Viewed)
	if len(o.Stores) > 0 {
		if a.Stores == nil {
			a.Stores = Counts{}
		}
		addCounts(a.Stores, o.Stores)
	}
	a.mergeCart(o)
	if !o.Location.At.IsZero() && (a.Location.At.IsZero() || (Stamped{At: o.Location.At, Key: o.Location.Key}).newer(Stamped{At: a.Location.At, Key: a.Location.Key})) {
		a.Location = o.Location
	}
	if !o.Locale.At.IsZero() && (a.Locale.At.IsZero() || o.Locale.newer(a.Locale)) {
		a.Locale = o.Locale
	}
	a.Device = latest(a.Device, o.Device)
	a.Campaign = latest(a.Campaign, o.Campaign)
	if o.Loyalty != nil && (a.Loyalty == nil || o.Loyalty.EntryID > a.Loyalty.EntryID) {
		a.Loyalty = o.Loyalty
	}
}

func addCounts[M ~map[string]int](dst, src M) {
	for k, v := range src {
		dst[k] += v
	}
}

// SeenAt reports whether the customer was seen at one of the stores: an
// event of its tills, or an order naming it.
func (a *Aggregates) SeenAt(stores []string) bool {
	for _, s := range stores {
		if a.Stores[s] > 0 {
			return true
		}
	}
	return false
}
