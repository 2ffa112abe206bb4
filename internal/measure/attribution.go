package measure

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// The attribution models.
const (
	ModelFirst     = "first"
	ModelLast      = "last"
	ModelLinear    = "linear"
	ModelTimeDecay = "time_decay"
	ModelPosition  = "position"
)

// Models lists the models in the order reports show them.
var Models = []string{ModelFirst, ModelLast, ModelLinear, ModelTimeDecay, ModelPosition}

// What attribution groups touchpoints by.
const (
	ByTouchpoint = "touchpoint" // kind, channel and campaign
	ByChannel    = "channel"
	ByJourney    = "journey" // the journey (or campaign) of a message
	ByKind       = "kind"
)

// noTouch is the row of the orders no touchpoint preceded.
const noTouch = "(none)"

// AttributionQuery asks which touchpoints the orders of a range are
// credited to.
type AttributionQuery struct {
	From, To string
	// Lookback is how long before an order a touch may be credited
	// (default 30d).
	Lookback segment.Duration
	// HalfLife is the time-decay model's: a touch that long before the
	// order weighs half as much as one at the order (default 7d).
	HalfLife segment.Duration
	By       string // touchpoint (default), channel, journey or kind
}

// AttributionReport credits each order of the range to the touchpoints of
// its customer in the lookback window, under the five models side by
// side.
type AttributionReport struct {
	Range    Period   `json:"range"`
	TimeZone string   `json:"time_zone"`
	Lookback string   `json:"lookback"`
	HalfLife string   `json:"half_life"`
	By       string   `json:"by"`
	Models   []string `json:"models"`
	Orders   int64    `json:"orders"`
	Revenue  float64  `json:"revenue"`
	// Unattributed are the orders no touchpoint preceded (in every model).
	Unattributed int64            `json:"unattributed_orders"`
	Rows         []AttributionRow `json:"rows"`
	AsOf         int64            `json:"as_of_seq"`
}

// AttributionRow is one touchpoint (or channel, journey, kind) and what
// each model credits it with: orders (fractions of orders) and revenue.
type AttributionRow struct {
	Kind     string                      `json:"kind,omitempty"`
	Channel  string                      `json:"channel,omitempty"`
	Campaign string                      `json:"campaign,omitempty"`
	Journey  string                      `json:"journey,omitempty"`
	Touches  int64                       `json:"touches"` // touches before an order of the range, in its window
	Credit   map[string]AttributionValue `json:"credit"`
}

// AttributionValue is one model's credit.
type AttributionValue struct {
	Orders  float64 `json:"orders"`
	Revenue float64 `json:"revenue"`
}

// Attribution credits the orders of a range to touchpoints.
func (e *Rollups) Attribution(ctx context.Context, q AttributionQuery) (*AttributionReport, error) {
	p, err := parsePeriod(q.From, q.To, e.today())
	if err != nil {
		return nil, err
	}
	if q.Lookback == 0 {
		q.Lookback = segment.Duration(30 * 24 * time.Hour)
	}
	if q.HalfLife == 0 {
		q.HalfLife = segment.Duration(7 * 24 * time.Hour)
	}
	if q.Lookback < 0 || time.Duration(q.Lookback) > 366*24*time.Hour {
		return nil, problem.Invalid("lookback", "is a duration up to a year, like 30d")
	}
	if q.HalfLife <= 0 {
		return nil, problem.Invalid("half_life", "is a positive duration, like 7d")
	}
	if q.By == "" {
		q.By = ByTouchpoint
	}
	if !slices.Contains([]string{ByTouchpoint, ByChannel, ByJourney, ByKind}, q.By) {
		return nil, problem.Invalid("by", fmt.Sprintf("%q is not touchpoint, channel, journey or kind", q.By))
	}
	from, to := dayStart(p.from, e.zone), dayStart(p.to+1, e.zone)
	var orders []*store.MeasureOrder
	if err := e.st.ScanOrders(ctx, from, to, func(o *store.MeasureOrder) error {
		orders = append(orders, o)
		return nil
	}); err != nil {
		return nil, err
	}
	slices.SortFunc(orders, func(a, b *store.MeasureOrder) int {
		return cmp.Or(cmp.Compare(a.Profile, b.Profile), a.At.Compare(b.At))
	})
	a := &attributor{q: &q, lookback: time.Duration(q.Lookback), halfLife: time.Duration(q.HalfLife), rows: map[string]*AttributionRow{}}
	// Touches arrive by profile, then time: each profile's touches are
	// matched with its orders (sorted the same way) as they go by.
	i := 0
	var touches []store.MeasureTouch
	flush := func(profile int64) {
		for ; i < len(orders) && orders[i].Profile < profile; i++ {
			a.credit(orders[i], nil)
		}
		for ; i < len(orders) && orders[i].Profile == profile; i++ {
			a.credit(orders[i], touches)
		}
	}
	cur := int64(-1)
	if err := e.st.ScanTouches(ctx, from.Add(-a.lookback), to, func(t *store.MeasureTouch) error {
		if t.Profile != cur {
			if cur >= 0 {
				flush(cur)
			}
			cur, touches = t.Profile, touches[:0]
		}
		touches = append(touches, *t)
		return nil
	}); err != nil {
		return nil, err
	}
	if cur >= 0 {
		flush(cur)
	}
	touches = nil
	flush(math.MaxInt64)
	asOf, err := e.st.Checkpoint(ctx, Consumer)
	if err != nil {
		return nil, err
	}
	out := &AttributionReport{Range: p, TimeZone: e.zone.String(), Lookback: durationText(a.lookback), HalfLife: durationText(a.halfLife),
		By: q.By, Models: Models, Orders: a.orders, Revenue: float64(a.cents) / 100, Unattributed: a.none, Rows: []AttributionRow{}, AsOf: asOf}
	for _, r := range a.rows {
		out.Rows = append(out.Rows, *r)
	}
	slices.SortFunc(out.Rows, func(x, y AttributionRow) int {
		return cmp.Or(cmp.Compare(y.Credit[ModelLast].Revenue+y.Credit[ModelLinear].Revenue, x.Credit[ModelLast].Revenue+x.Credit[ModelLinear].Revenue),
			strings.Compare(x.Kind+x.Channel+x.Campaign+x.Journey, y.Kind+y.Channel+y.Campaign+y.Journey))
	})
	return out, nil
}

// attributor accumulates the credits.
type attributor struct {
	q                  *AttributionQuery
	lookback, halfLife time.Duration
	rows               map[string]*AttributionRow
	orders, cents      int64
	none               int64
	weights            []float64
}

// credit shares one order among its customer's touches in its window.
func (a *attributor) credit(o *store.MeasureOrder, touches []store.MeasureTouch) {
	a.orders++
	a.cents += o.Cents
	lo := sortSearchTouch(touches, o.At.Add(-a.lookback))
	hi := lo
	for hi < len(touches) && !touches[hi].At.After(o.At) {
		hi++
	}
	in := touches[lo:hi]
	if len(in) == 0 {
		a.none++
		r := a.row(noTouch, AttributionRow{Kind: noTouch})
		for _, m := range Models {
			v := r.Credit[m]
			v.Orders++
			v.Revenue += float64(o.Cents) / 100
			r.Credit[m] = v
		}
		return
	}
	for _, m := range Models {
		w := a.modelWeights(m, o.At, in)
		for j, t := range in {
			if w[j] == 0 {
				continue
			}
			r := a.touchRow(&t)
			v := r.Credit[m]
			v.Orders += w[j]
			v.Revenue += w[j] * float64(o.Cents) / 100
			r.Credit[m] = v
		}
	}
	for j := range in {
		a.touchRow(&in[j]).Touches++
	}
}

// sortSearchTouch is the first touch at or after t.
func sortSearchTouch(ts []store.MeasureTouch, t time.Time) int {
	i, _ := slices.BinarySearchFunc(ts, t, func(x store.MeasureTouch, t time.Time) int { return x.At.Compare(t) })
	return i
}

// modelWeights are the shares of one order a model gives its touches (in
// time order; they add up to 1).
func (a *attributor) modelWeights(model string, at time.Time, in []store.MeasureTouch) []float64 {
	n := len(in)
	w := slices.Grow(a.weights[:0], n)[:n]
	clear(w)
	switch model {
	case ModelFirst:
		w[0] = 1
	case ModelLast:
		w[n-1] = 1
	case ModelLinear:
		for i := range w {
			w[i] = 1 / float64(n)
		}
	case ModelTimeDecay:
		var sum float64
		for i, t := range in {
			w[i] = math.Exp2(-float64(at.Sub(t.At)) / float64(a.halfLife))
			sum += w[i]
		}
		for i := range w {
			w[i] /= sum
		}
	case ModelPosition:
		switch n {
		case 1:
			w[0] = 1
		case 2:
			w[0], w[1] = 0.5, 0.5
		default:
			w[0], w[n-1] = 0.4, 0.4
			for i := 1; i < n-1; i++ {
				w[i] = 0.2 / float64(n-2)
			}
		}
	}
	a.weights = w
	return w
}

// touchRow is the row a touch is credited to, by the report's grouping.
func (a *attributor) touchRow(t *store.MeasureTouch) *AttributionRow {
	journey := ""
	if strings.HasPrefix(t.Kind, "message_") {
		journey = t.Campaign
	}
	switch a.q.By {
	case ByChannel:
		return a.row("c\x00"+t.Channel, AttributionRow{Channel: t.Channel})
	case ByKind:
		return a.row("k\x00"+t.Kind, AttributionRow{Kind: t.Kind})
	case ByJourney:
		if journey == "" {
			return a.row("j\x00", AttributionRow{Journey: "(not a message)"})
		}
		return a.row("j\x00"+journey, AttributionRow{Journey: journey})
	}
	return a.row(t.Kind+"\x00"+t.Channel+"\x00"+t.Campaign, AttributionRow{Kind: t.Kind, Channel: t.Channel, Campaign: t.Campaign})
}

func (a *attributor) row(key string, proto AttributionRow) *AttributionRow {
	r := a.rows[key]
	if r == nil {
		proto.Credit = map[string]AttributionValue{}
		for _, m := range Models {
			proto.Credit[m] = AttributionValue{}
		}
		r = &proto
		a.rows[key] = r
	}
	return r
}
