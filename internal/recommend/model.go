// Package recommend proposes products to a customer: what goes with what
// they looked at or bought, what is popular near them, what they viewed
// and did not buy — only what they can get where they shop.
//
// The Model is learned from the event log, one event at a time, by the
// Stage that follows it (views, cart adds, orders online and at the till,
// refunds and returns). It holds no per-customer state: what a customer
// did is read from their timeline when they are asked about (Recommender),
// so merges and erasures need nothing here, and memory depends on the
// catalogue, not on the number of customers.
//
// Item-to-item similarity is the cosine of time-decayed co-occurrence
// counts:
//
//	sim(i, j) = C(i,j) / sqrt(N(i) · N(j))
//
// where N(i) is the decayed weight of the events that name i and C(i,j)
// the decayed weight of the events (baskets, browsing sessions) that name
// both. Each event counts w·2^((t−t₀)/h): its kind's weight w (a view 1, a
// cart add 2, a purchase 4), grown by its age over the half-life h (30
// days by default). Growing new events instead of shrinking old ones keeps
// every update O(1), and the cosine of counts all scaled by the same
// factor does not depend on when it is read: an event h older than
// another counts half as much, whenever the question is asked. Sums do
// not depend on the order events arrive in, so a replay of the log learns
// the same model.
//
// Each item keeps at most Slots candidate neighbours (64 by default) with
// their co-occurrence weight; when the slots are full, a new neighbour
// replaces the lightest one (a heavy-hitters sketch: pairs that keep
// co-occurring stay, noise churns in the last slots). Memory is bounded
// by the catalogue: 50,000 SKUs × 64 slots × 16 bytes = 51 MB for the
// neighbours, plus about 200 bytes of description per item (10 MB).
package recommend

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Kinds of evidence, and how much one event of each counts.
const (
	weightView     = 1.0
	weightCart     = 2.0
	weightPurchase = 4.0
)

// epoch is t₀ of the decay: events are grown by 2^((t−epoch)/h). With a
// 30-day half-life an event of 2040 counts 2^243 ≈ 1e73: far from
// float64's limit (1e308) for any plausible log.
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Item is what the model knows of a product: the last description an
// event gave of it (the catalogue, when commerce has it, completes it at
// query time).
type Item struct {
	ID       string  `json:"product_id"`
	SKU      string  `json:"sku,omitempty"`
	Name     string  `json:"name,omitempty"`
	Category string  `json:"category,omitempty"`
	Brand    string  `json:"brand,omitempty"`
	Price    float64 `json:"price,omitempty"`
	Currency string  `json:"currency,omitempty"`
	URL      string  `json:"url,omitempty"`
	ImageURL string  `json:"image_url,omitempty"`
}

// slot is one candidate neighbour of an item.
type slot struct {
	// Exported for the snapshot's encoding (snapshot.go).
	Item   int32
	Weight float64
}

// Options configure a Model. Zero values take the defaults.
type Options struct {
	// HalfLife is how long until evidence counts half; default 30 days.
	HalfLife time.Duration
	// Slots is how many candidate neighbours an item keeps; default 64.
	Slots int
	// Regions maps a store id to its region (popular by region); stores
	// not in it are their own region.
	Regions map[string]string
	// SessionGap is how long without a view ends a browsing session for
	// co-views; default 30 minutes. MaxVisitors bounds the visitors whose
	// session is kept (default 200,000): beyond it the idlest are dropped.
	SessionGap  time.Duration
	MaxVisitors int
}

// Model is the learned state. It is safe for concurrent use: the stage
// writes under the lock, queries read under its read side.
type Model struct {
	o     Options
	perMs float64 // log2 growth per millisecond: 1/halfLife

	mu     sync.RWMutex
	ids    map[string]int32
	items  []Item
	occ    []float64 // N(i)
	nbrs   [][]slot  // candidate neighbours, unordered
	bought []float64 // decayed purchases (net of returns), all stores
	// byStore and byRegion: decayed purchases per place.
	byStore  map[string]map[int32]float64
	byRegion map[string]map[int32]float64
	// catPair: decayed weight of baskets holding both categories.
	catPair  map[[2]string]float64
	sessions *sessions
	events   int64 // events learned from
	last     int64 // seq of the last event learned from
	version  int64 // bumped by every change: caches of rankings compare it
	latest   time.Time
	defs     map[string]Definition // saved definitions (kind: recommendation)

	rankMu sync.Mutex
	ranks  map[string]*ranking // popularity rankings, by scope
}

// ranking is a popularity list computed at some version of the model.
type ranking struct {
	version int64
	at      time.Time // wall time: how often to rank is plumbing, not what is recommended
	items   []int32
}

// NewModel returns an empty model.
func NewModel(o Options) *Model {
	if o.HalfLife <= 0 {
		o.HalfLife = 30 * 24 * time.Hour
	}
	if o.Slots <= 0 {
		o.Slots = 64
	}
	if o.SessionGap <= 0 {
		o.SessionGap = 30 * time.Minute
	}
	if o.MaxVisitors <= 0 {
		o.MaxVisitors = 200_000
	}
	return &Model{o: o, perMs: 1 / float64(o.HalfLife.Milliseconds()), ids: map[string]int32{},
		byStore: map[string]map[int32]float64{}, byRegion: map[string]map[int32]float64{},
		catPair: map[[2]string]float64{}, sessions: newSessions(o.MaxVisitors), ranks: map[string]*ranking{}}
}

// growth is how much evidence of time t counts, relative to epoch.
func (m *Model) growth(t time.Time) float64 {
	return math.Exp2(float64(t.Sub(epoch).Milliseconds()) * m.perMs)
}

// item returns the index of id, adding it. Lock should be held.
func (m *Model) item(it *Item) int32 {
	if i, ok := m.ids[it.ID]; ok {
		m.describe(i, it)
		return i
	}
	i := int32(len(m.items))
	m.ids[it.ID] = i
	m.items = append(m.items, *it)
	m.occ = append(m.occ, 0)
	m.nbrs = append(m.nbrs, nil)
	m.bought = append(m.bought, 0)
	return i
}

// describe keeps the newest non-empty description of each field.
func (m *Model) describe(i int32, it *Item) {
	cur := &m.items[i]
	for _, f := range [...][2]*string{{&cur.SKU, &it.SKU}, {&cur.Name, &it.Name}, {&cur.Category, &it.Category},
		{&cur.Brand, &it.Brand}, {&cur.Currency, &it.Currency}, {&cur.URL, &it.URL}, {&cur.ImageURL, &it.ImageURL}} {
		if *f[1] != "" {
			*f[0] = *f[1]
		}
	}
	if it.Price > 0 {
		cur.Price = it.Price
	}
}

// pair adds w to the co-occurrence of a and b, both ways. Lock should be
// held.
func (m *Model) pair(a, b int32, w float64) {
	if a == b {
		return
	}
	m.addNeighbour(a, b, w)
	m.addNeighbour(b, a, w)
}

func (m *Model) addNeighbour(a, b int32, w float64) {
	ns := m.nbrs[a]
	lightest := -1
	for k := range ns {
		if ns[k].Item == b {
			ns[k].Weight += w
			return
		}
		if lightest < 0 || ns[k].Weight < ns[lightest].Weight {
			lightest = k
		}
	}
	if len(ns) < m.o.Slots {
		m.nbrs[a] = append(ns, slot{b, w})
		return
	}
	// Full: the newcomer takes the lightest slot if it weighs more (a
	// single old co-view does not push out a pair bought together).
	if w >= ns[lightest].Weight {
		ns[lightest] = slot{b, w}
	}
}

// Similar returns up to k items most similar to id, by cosine, most
// similar first, with their similarity.
func (m *Model) Similar(id string, k int) []Scored {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, ok := m.ids[id]
	if !ok {
		return nil
	}
	return m.similar(i, k)
}

// Scored is an item and its score.
type Scored struct {
	Item  int32
	Score float64
}

// similar ranks the neighbours of i by cosine. Read lock should be held.
func (m *Model) similar(i int32, k int) []Scored {
	ns := m.nbrs[i]
	out := make([]Scored, 0, len(ns))
	for _, n := range ns {
		if d := m.occ[i] * m.occ[n.Item]; d > 0 {
			out = append(out, Scored{n.Item, n.Weight / math.Sqrt(d)})
		}
	}
	sortScored(out)
	if k > 0 && len(out) > k {
		out = out[:k]
	}
	return out
}

// sortByWeight orders names by weight, heaviest first, then by name.
func sortByWeight(names []string, w map[string]float64) {
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case w[a] > w[b]:
			return -1
		case w[a] < w[b]:
			return 1
		}
		return strings.Compare(a, b)
	})
}

// sortScored orders by score, highest first, then by item index (the
// order items were first seen): rankings are deterministic.
func sortScored(s []Scored) {
	slices.SortFunc(s, func(a, b Scored) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return int(a.Item - b.Item)
	})
}

// Stats describe a model's size.
type Stats struct {
	Items      int   `json:"items"`
	Neighbours int   `json:"neighbours"`
	Events     int64 `json:"events"`
	LastSeq    int64 `json:"last_seq"`
	// Bytes is an estimate of the memory the model holds.
	Bytes int64 `json:"bytes"`
}

// Stats returns the model's size.
func (m *Model) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := Stats{Items: len(m.items), Events: m.events, LastSeq: m.last}
	for _, ns := range m.nbrs {
		s.Neighbours += len(ns)
		s.Bytes += int64(cap(ns)) * 16
	}
	for _, it := range m.items {
		s.Bytes += int64(len(it.ID)+len(it.SKU)+len(it.Name)+len(it.Category)+len(it.Brand)+len(it.URL)+len(it.ImageURL)) + 150
	}
	s.Bytes += int64(len(m.items)) * (8 + 8 + 24)
	for _, b := range m.byStore {
		s.Bytes += int64(len(b)) * 24
	}
	for _, b := range m.byRegion {
		s.Bytes += int64(len(b)) * 24
	}
	return s
}

// Item returns the description of an item.
func (m *Model) Item(id string) (Item, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	i, ok := m.ids[id]
	if !ok {
		return Item{}, false
	}
	return m.items[i], true
}
