// Package gen generates a realistic, deterministic stream of retail events in
// the Segment tracking-API format: the customers of a French fashion brand
// browsing its web shop and app, buying online, with click & collect or at
// the tills of its stores, returning articles, calling the call center and
// reacting to emails, SMS and push notifications. It feeds the demo and the
// benchmarks.
//
// Customers are planned lazily, one visit at a time, and merged by a heap on
// the time of their next event: memory grows with the number of customers
// active at once, never with the number of events.
package gen

import (
	"math"
	"sort"
	"time"
)

// Options sets what to generate.
type Options struct {
	Seed      int64     // the same seed gives the same events, byte for byte
	Customers int       // people, most of whom come back many times (default 1000, at most 200 million)
	Stores    int       // physical stores (default 12)
	Start     time.Time // start of the simulated period (default 2025-01-06, a Monday)
	Days      int       // length of the simulated period (default 30)
}

// Event is one generated event.
type Event struct {
	// Channel is the touchpoint that sends the event: web, ios, android,
	// pos, email, sms or call_center. It decides which source's write key
	// sends it.
	Channel string
	// StoreID is the store of a pos event, whose own source sends it.
	StoreID string
	// Time is the event's timestamp.
	Time time.Time
	// JSON is one Segment event (type, messageId, userId and/or
	// anonymousId, event or name, properties or traits, context,
	// timestamp). It belongs to the caller.
	JSON []byte
}

// Generator yields the events of a simulated period in timestamp order.
// It is not safe for concurrent use.
type Generator struct {
	opts      Options
	seedKey   uint64
	cal       *calendar
	stores    []Store
	products  []Product
	catOf     []uint8
	byCat     [][]int32 // products of each category, most popular first
	ethical   [][]int32
	looks     [][companionsPerProduct]int32 // each article's companions (affinity.go)
	byBrand   [][][]int32                   // per category, per brand
	catCum    [][]float64                   // per persona
	persCum   []float64
	cityCum   []float64
	cityHome  []int16 // nearest store of each home city
	campaigns []campaign
	firstCamp int // first scheduled campaign, after the templates

	q           queue
	nextIdx     uint32
	nextArrival int64
	w           jw
}

// maxCustomers keeps phone numbers distinct: there are 200 million French
// mobile numbers starting with 06 or 07.
const maxCustomers = 200_000_000

// New returns a generator for o, with defaults filled in.
func New(o Options) *Generator {
	if o.Customers <= 0 {
		o.Customers = 1000
	}
	o.Customers = min(o.Customers, maxCustomers)
	if o.Stores <= 0 {
		o.Stores = 12
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	}
	if o.Days <= 0 {
		o.Days = 30
	}
	o.Start = o.Start.UTC()
	g := &Generator{opts: o, seedKey: mix64(uint64(o.Seed) ^ 0x5eed), cal: newCalendar(o.Start, o.Days)}
	g.stores = makeStores(o.Stores)
	g.products = makeCatalog()
	g.byCat = make([][]int32, len(categories))
	g.ethical = make([][]int32, len(categories))
	for i, p := range g.products {
		ci := 0
		for categories[ci].slug != p.Category {
			ci++
		}
		g.catOf = append(g.catOf, uint8(ci))
		g.byCat[ci] = append(g.byCat[ci], int32(i))
		if p.Ethical {
			g.ethical[ci] = append(g.ethical[ci], int32(i))
		}
	}
	g.looks = makeCompanions(g.products, g.catOf, g.byCat)
	g.byBrand = makeBrandLists(g.products, g.catOf)
	var pw []float64
	for _, p := range personas {
		pw = append(pw, p.weight)
		g.catCum = append(g.catCum, cumulate(p.cats[:]))
	}
	g.persCum = cumulate(pw)
	var cw []float64
	for _, c := range homeCities {
		cw = append(cw, c.weight)
		g.cityHome = append(g.cityHome, int16(nearestStore(g.stores, c.lat, c.lon)))
	}
	g.cityCum = cumulate(cw)
	g.campaigns = makeCampaigns(g.cal)
	g.firstCamp = len(templates)
	g.nextArrival = g.arrival(0)
	return g
}

// Options returns the options in effect, defaults filled in.
func (g *Generator) Options() Options { return g.opts }

// Stores returns the stores. Customers shop mostly in the one nearest home.
func (g *Generator) Stores() []Store { return append([]Store(nil), g.stores...) }

// Products returns the catalogue. It is the same for every seed.
func (g *Generator) Products() []Product { return append([]Product(nil), g.products...) }

// Next returns the next event in timestamp order, or false when the period
// is over.
func (g *Generator) Next() (Event, bool) {
	for {
		g.admit()
		if len(g.q) == 0 {
			return Event{}, false
		}
		c := g.q[0]
		if len(c.pending) > 0 && c.pending[0].at == c.key {
			a := c.pop()
			ev := g.render(c, &a)
			g.reschedule(c)
			return ev, true
		}
		// A visit or a campaign is due: plan it now, when it is the
		// earliest thing in the whole stream, so that its actions cannot
		// come before an event already returned.
		if c.campReady && g.campaigns[c.camp].at == c.key {
			g.campaign(c, int(c.camp))
			c.camp++
			c.campReady = false
		} else {
			g.visit(c)
		}
		g.reschedule(c)
	}
}

func (g *Generator) reschedule(c *customer) {
	if g.schedule(c) {
		g.q.fixTop()
	} else {
		g.q.popTop()
	}
}

// admit brings in the customers whose first activity may come before the
// next event: arrivals are generated in time order, so only customers who
// have started occupy memory.
func (g *Generator) admit() {
	for int(g.nextIdx) < g.opts.Customers && (len(g.q) == 0 || g.nextArrival <= g.q[0].key) {
		c := g.newCustomer(g.nextIdx, g.nextArrival)
		g.nextIdx++
		if int(g.nextIdx) < g.opts.Customers {
			g.nextArrival = g.arrival(g.nextIdx)
		}
		if g.schedule(c) {
			g.q.push(c)
		}
	}
}

// arrival is when customer i first shows up. Half of the customers are
// regulars who show up within the first weeks; the others are spread over
// the period. Arrivals increase with i, so customers can be created in
// order: stratified uniforms, pushed through the inverse of that mixture.
func (g *Generator) arrival(i uint32) int64 {
	r := newRNG(g.seedKey, uint64(i), 7)
	u := (float64(i) + r.float()) / float64(g.opts.Customers)
	days, tau := float64(g.opts.Days), 10.0
	cdf := func(t float64) float64 {
		return 0.5*(1-math.Exp(-t/tau))/(1-math.Exp(-days/tau)) + 0.5*t/days
	}
	lo, hi := 0.0, days
	for k := 0; k < 40; k++ {
		if m := (lo + hi) / 2; cdf(m) < u {
			lo = m
		} else {
			hi = m
		}
	}
	return int64(lo * float64(msDay))
}

// schedule sets the customer's heap key to the time of what comes next for
// them: a planned action, their next visit or the next campaign that
// targets them. Visits are planned only when due, so a customer waiting for
// their next visit holds no actions. It returns false when they are done.
func (g *Generator) schedule(c *customer) bool {
	if len(c.pending) > 0 && c.pending[0].at >= g.cal.end {
		// A visit that began before the end spills over it: cut it.
		c.pending = nil
	}
	next := c.nextAt
	if next >= g.cal.end {
		next = never
	}
	// Nothing changes a customer's state between two visits but campaigns,
	// so the campaigns that do not target them can be skipped now. The
	// skipping stops at the next visit, which may make them known.
	for !c.campReady && int(c.camp) < len(g.campaigns) && g.campaigns[c.camp].at < next {
		if g.targets(c, int(c.camp)) {
			c.campReady = true
		} else {
			c.camp++
		}
	}
	k := next
	if c.campReady {
		k = min(k, g.campaigns[c.camp].at)
	}
	if len(c.pending) > 0 {
		k = min(k, c.pending[0].at)
	}
	c.key = k
	return k < never
}

// firstCampaign is the index of the first campaign sent at or after t.
func (g *Generator) firstCampaign(t int64) int32 {
	s := g.campaigns[g.firstCamp:]
	return int32(g.firstCamp + sort.Search(len(s), func(i int) bool { return s[i].at >= t }))
}
