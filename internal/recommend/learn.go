package recommend

import (
	"encoding/json"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
)

// The events the model learns from (the Segment e-commerce spec's names,
// which commerce, the web SDKs and the tills all send).
const (
	EventProductViewed  = "Product Viewed"
	EventProductAdded   = "Product Added"
	EventOrderCompleted = "Order Completed"
	EventOrderRefunded  = "Order Refunded"
	EventOrderReturned  = "Order Returned"
	EventProductReturn  = "Product Returned"
)

// Learns reports whether the model reads events named name: the stage
// skips the others without decoding their properties.
func Learns(name string) bool {
	switch name {
	case EventProductViewed, EventProductAdded, EventOrderCompleted, EventOrderRefunded, EventOrderReturned, EventProductReturn:
		return true
	}
	return false
}

// props are the properties the model reads of an event: a product (views,
// cart adds, a single returned article) or a products array (orders,
// refunds).
type props struct {
	productLine
	StoreID  string        `json:"store_id"`
	Products []productLine `json:"products"`
}

type productLine struct {
	ProductID string   `json:"product_id"`
	SKU       string   `json:"sku"`
	Name      string   `json:"name"`
	Category  string   `json:"category"`
	Brand     string   `json:"brand"`
	Price     float64  `json:"price"`
	Currency  string   `json:"currency"`
	URL       string   `json:"url"`
	ImageURL  string   `json:"image_url"`
	Quantity  *float64 `json:"quantity"`
}

func (l *productLine) item(currency string) (Item, bool) {
	id := l.ProductID
	if id == "" {
		id = l.SKU
	}
	if currency == "" {
		currency = l.Currency
	}
	return Item{ID: id, SKU: l.SKU, Name: l.Name, Category: l.Category, Brand: l.Brand, Price: l.Price,
		Currency: currency, URL: l.URL, ImageURL: l.ImageURL}, id != ""
}

func (l *productLine) qty() float64 {
	if l.Quantity == nil || *l.Quantity <= 0 {
		return 1
	}
	return *l.Quantity
}

// Learn adds one event of the log to the model. Events it does not read,
// or whose properties it cannot decode, are skipped: a bad event never
// stops the stage, and its neighbours are learned.
func (m *Model) Learn(e *event.Event) { m.LearnBatch([]*event.Event{e}) }

// LearnBatch learns a batch of the log, in order. The properties are
// decoded before the lock is taken: queries wait only for the counting,
// never for JSON.
func (m *Model) LearnBatch(batch []*event.Event) {
	if len(batch) == 0 {
		return
	}
	parsed := make([]*props, len(batch))
	for k, e := range batch {
		if e.Type != event.Track || !Learns(e.Event) {
			continue
		}
		var p props
		if len(e.Properties) > 0 && json.Unmarshal(e.Properties, &p) != nil {
			continue
		}
		parsed[k] = &p
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, e := range batch {
		m.last = max(m.last, e.Seq)
		if e.Event == EventRecommendationSaved && e.Channel == profile.InternalChannel {
			m.saved(e)
			continue
		}
		if parsed[k] != nil {
			m.learn(e, parsed[k])
		}
	}
}

// learn counts one decoded event. Lock should be held.
func (m *Model) learn(e *event.Event, p *props) {
	visitor := e.UserID
	if visitor == "" {
		visitor = e.AnonymousID
	}
	store := p.StoreID
	if store == "" {
		store = e.StoreID
	}
	m.events++
	m.version++
	if e.Timestamp.After(m.latest) {
		m.latest = e.Timestamp
	}
	g := m.growth(e.Timestamp)
	switch e.Event {
	case EventProductViewed, EventProductAdded:
		it, ok := p.item("")
		if !ok {
			return
		}
		w := weightView
		if e.Event == EventProductAdded {
			w = weightCart
		}
		m.browse(visitor, m.item(&it), w*g, e.Timestamp)
	case EventOrderCompleted:
		m.purchase(visitor, store, p.Products, g, e.Timestamp)
	default: // refunds and returns
		lines := p.Products
		if len(lines) == 0 && (p.ProductID != "" || p.SKU != "") {
			lines = []productLine{p.productLine}
		}
		m.returned(store, lines, g)
	}
}

// browse learns a view or cart add of i by visitor: i co-occurs with the
// items of the visitor's session. Lock should be held.
func (m *Model) browse(visitor string, i int32, w float64, at time.Time) {
	m.occ[i] += w
	if visitor == "" {
		return
	}
	s := m.sessions.get(visitor, at, m.o.SessionGap)
	for _, j := range s.items() {
		m.pair(i, j, w)
	}
	s.push(i, at)
}

// purchase learns an order: its lines co-occur with each other (a
// basket) and with what the visitor looked at in the session before it;
// they count in the popularity of the store and its region. Lock should
// be held.
func (m *Model) purchase(visitor, store string, lines []productLine, g float64, at time.Time) {
	basket := make([]int32, 0, len(lines))
	qty := make([]float64, 0, len(lines))
	for k := range lines {
		it, ok := lines[k].item("")
		if !ok {
			continue
		}
		i := m.item(&it)
		if slices_contains(basket, i) {
			continue
		}
		basket = append(basket, i)
		qty = append(qty, lines[k].qty())
	}
	var viewed []int32
	if visitor != "" {
		s := m.sessions.get(visitor, at, m.o.SessionGap)
		viewed = s.items()
		for _, i := range basket {
			s.push(i, at)
		}
	}
	region := m.region(store)
	for k, i := range basket {
		m.occ[i] += weightPurchase * g
		m.bought[i] += qty[k] * g
		if store != "" {
			addTo(m.byStore, store, i, qty[k]*g)
			addTo(m.byRegion, region, i, qty[k]*g)
		}
		for _, j := range basket[k+1:] {
			m.pair(i, j, weightPurchase*g)
			m.catPairs(i, j, weightPurchase*g)
		}
		for _, j := range viewed {
			if !slices_contains(basket, j) {
				m.pair(i, j, weightView*g)
				m.catPairs(i, j, weightView*g)
			}
		}
	}
}

// returned takes returned articles out of the popularity they counted in.
// Lock should be held.
func (m *Model) returned(store string, lines []productLine, g float64) {
	region := m.region(store)
	for k := range lines {
		it, ok := lines[k].item("")
		if !ok {
			continue
		}
		i := m.item(&it)
		q := lines[k].qty() * g
		m.bought[i] = max(0, m.bought[i]-q)
		if store != "" {
			addTo(m.byStore, store, i, -q)
			addTo(m.byRegion, region, i, -q)
		}
	}
}

// catPairs counts two items' categories as bought together (complements
// by category). Lock should be held.
func (m *Model) catPairs(i, j int32, w float64) {
	a, b := m.items[i].Category, m.items[j].Category
	if a == "" || b == "" || a == b {
		return
	}
	if a > b {
		a, b = b, a
	}
	m.catPair[[2]string{a, b}] += w
}

func (m *Model) region(store string) string {
	if r, ok := m.o.Regions[store]; ok {
		return r
	}
	return store
}

func addTo(scopes map[string]map[int32]float64, scope string, i int32, w float64) {
	s := scopes[scope]
	if s == nil {
		s = map[int32]float64{}
		scopes[scope] = s
	}
	s[i] = max(0, s[i]+w)
}

func slices_contains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
