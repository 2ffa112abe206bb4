package measure

import (
	"math"

	"github.com/RoaringBitmap/roaring/v2"
)

// KPI is one indicator: how it is computed over a range of days, for the
// total or one value of a breakdown. docs/measure.md gives each formula.
type KPI struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Unit    string   `json:"unit"` // count, currency, ratio (0-1), percent (0-100), score
	Formula string   `json:"formula"`
	Dims    []string `json:"breakdowns"` // the breakdowns it supports
	metrics []string // counters it reads
	sets    []string // profile sets it reads
	// needs are the breakdowns it reads whatever the report's breakdown
	// (omnichannel buyers compare channels).
	needs []string
	// lookback is how many days before the range it reads (retention
	// compares with the range before).
	lookback   func(days int32) int32
	cumulative bool // it reads its counters since the beginning
	noSeries   bool
	value      func(x *kpiCtx) *float64
}

// kpiCtx is what a KPI computes from: the loaded rollups, the range and
// the breakdown value (dv; total for the total).
type kpiCtx struct {
	a        *agg
	dv       dimval
	from, to int32
	costs    func(dv dimval, from, to int32) int64
}

func (x *kpiCtx) sum(metric string) float64 { return float64(x.a.sum(metric, x.dv, x.from, x.to)) }

func (x *kpiCtx) set(name string) *roaring.Bitmap { return x.a.set(name, x.dv, x.from, x.to) }

func (x *kpiCtx) totalSet(name string) *roaring.Bitmap { return x.a.set(name, total, x.from, x.to) }

func (x *kpiCtx) count(name string) float64 { return float64(x.set(name).GetCardinality()) }

// The breakdowns.
const (
	DimChannel     = "channel"
	DimSource      = "source"
	DimStore       = "store"
	DimFulfillment = "fulfillment"
	DimCampaign    = "campaign"
	DimAcquisition = "acquisition"
	// DimAgent splits survey answers by the agent of the contact they
	// rate (Survey Answered's agent).
	DimAgent = "agent"
)

var (
	orderDims   = []string{DimChannel, DimSource, DimStore, DimFulfillment, DimSegment, DimJourney}
	visitDims   = []string{DimChannel, DimSource, DimStore, DimSegment}
	messageDims = []string{DimChannel, DimCampaign, DimJourney}
	answerDims  = []string{DimChannel, DimStore, DimJourney, DimAgent}
)

func counter(id, name, unit, formula, metric string, scale float64, dims []string) *KPI {
	return &KPI{ID: id, Name: name, Unit: unit, Formula: formula, Dims: dims, metrics: []string{metric},
		value: func(x *kpiCtx) *float64 { return num(x.sum(metric) / scale) }}
}

// kpis are the indicators, by id.
var kpis = map[string]*KPI{}

// kpiOrder lists them in the order docs and listings show them.
var kpiOrder []string

// DefaultKPIs is the dashboard's ten.
var DefaultKPIs = []string{"revenue", "orders", "aov", "conversion_rate", "visitors", "new_customers", "repeat_rate", "clv", "nps", "csat"}

func define(k *KPI) {
	kpis[k.ID] = k
	kpiOrder = append(kpiOrder, k.ID)
}

// rate divides two counters of x (nil when the divisor is 0).
func rate(x *kpiCtx, n, d string) *float64 { return ratio(x.sum(n), x.sum(d)) }

func init() {
	define(counter("orders", "Orders", "count", "orders completed, once per order_id, not cancelled, on their day", "orders", 1, orderDims))
	define(counter("revenue", "Revenue", "currency", "sum of the orders' revenue (else total)", "revenue", 100, orderDims))
	define(counter("refunds", "Refunded", "currency", "sum of the refunds, on their day", "refunded", 100, []string{DimChannel, DimStore}))
	define(&KPI{ID: "net_revenue", Name: "Net revenue", Unit: "currency", Formula: "revenue - refunded",
		Dims: []string{DimChannel, DimStore}, metrics: []string{"revenue", "refunded"},
		value: func(x *kpiCtx) *float64 { return num((x.sum("revenue") - x.sum("refunded")) / 100) }})
	define(&KPI{ID: "aov", Name: "Average order value", Unit: "currency", Formula: "revenue / orders", Dims: orderDims,
		metrics: []string{"revenue", "orders"},
		value:   func(x *kpiCtx) *float64 { return ratio(x.sum("revenue")/100, x.sum("orders")) }})
	define(&KPI{ID: "visitors", Name: "Visitors", Unit: "count", Formula: "distinct profiles with a visit (web, app, store)",
		Dims: visitDims, sets: []string{setVisitors}, value: func(x *kpiCtx) *float64 { return num(x.count(setVisitors)) }})
	define(counter("new_visitors", "New visitors", "count", "profiles first seen in the range", "new_visitors", 1, []string{DimAcquisition}))
	define(&KPI{ID: "buyers", Name: "Buyers", Unit: "count", Formula: "distinct profiles with a counted order", Dims: orderDims,
		sets: []string{setBuyers}, value: func(x *kpiCtx) *float64 { return num(x.count(setBuyers)) }})
	define(&KPI{ID: "conversion_rate", Name: "Conversion rate", Unit: "ratio",
		Formula: "visitors who bought, on any channel / visitors (by channel: who visited there and bought anywhere)",
		Dims:    visitDims, sets: []string{setVisitors, setBuyers},
		value: func(x *kpiCtx) *float64 {
			v := x.set(setVisitors)
			return ratio(float64(v.AndCardinality(x.totalSet(setBuyers))), float64(v.GetCardinality()))
		}})
	define(&KPI{ID: "channel_conversion_rate", Name: "Same-channel conversion rate", Unit: "ratio",
		Formula: "visitors of a channel who bought on that channel / its visitors", Dims: []string{DimChannel, DimSource, DimStore, DimSegment},
		sets: []string{setVisitors, setBuyers},
		value: func(x *kpiCtx) *float64 {
			v := x.set(setVisitors)
			return ratio(float64(v.AndCardinality(x.set(setBuyers))), float64(v.GetCardinality()))
		}})
	define(&KPI{ID: "omnichannel_buyers", Name: "Omnichannel buyers", Unit: "count",
		Formula: "buyers who bought on a channel and visited on another (browse on the web, buy in store)",
		Dims:    []string{DimChannel}, sets: []string{setVisitors, setBuyers}, needs: []string{DimChannel},
		value: func(x *kpiCtx) *float64 { return num(float64(omnichannel(x).GetCardinality())) }})
	define(&KPI{ID: "omnichannel_share", Name: "Omnichannel share of buyers", Unit: "ratio", Formula: "omnichannel buyers / buyers",
		Dims: []string{DimChannel}, sets: []string{setVisitors, setBuyers}, needs: []string{DimChannel},
		value: func(x *kpiCtx) *float64 {
			return ratio(float64(omnichannel(x).GetCardinality()), x.count(setBuyers))
		}})
	define(counter("new_customers", "New customers", "count", "profiles whose first order is in the range", "new_customers", 1,
		[]string{DimChannel, DimStore, DimAcquisition}))
	define(&KPI{ID: "repeat_rate", Name: "Repeat purchase rate", Unit: "ratio",
		Formula: "buyers who had ordered before the range / buyers", Dims: orderDims, sets: []string{setBuyers, setNewCustomers},
		value: func(x *kpiCtx) *float64 {
			b := x.set(setBuyers)
			n := float64(b.GetCardinality())
			return ratio(n-float64(b.AndCardinality(x.totalSet(setNewCustomers))), n)
		}})
	define(&KPI{ID: "retention_rate", Name: "Retention rate", Unit: "ratio",
		Formula: "buyers of the previous range of the same length who bought again in the range / buyers of the previous range",
		Dims:    orderDims, sets: []string{setBuyers}, lookback: func(days int32) int32 { return days },
		value: func(x *kpiCtx) *float64 {
			n := x.to - x.from + 1
			before := x.a.set(setBuyers, x.dv, x.from-n, x.from-1)
			return ratio(float64(before.AndCardinality(x.totalSet(setBuyers))), float64(before.GetCardinality()))
		}})
	define(&KPI{ID: "clv", Name: "Customer lifetime value (historical)", Unit: "currency",
		Formula: "(revenue - refunded) of every order up to the range's end / customers who ordered up to then",
		metrics: []string{"revenue", "refunded", "new_customers"}, cumulative: true,
		value: func(x *kpiCtx) *float64 {
			return ratio(float64(x.a.upto("revenue", x.to)-x.a.upto("refunded", x.to))/100, float64(x.a.upto("new_customers", x.to)))
		}})
	define(&KPI{ID: "clv_predicted", Name: "Customer lifetime value (predicted)", Unit: "currency",
		Formula: "AOV x orders per buyer over the 365 days to the range's end x expected lifetime in years, 1 / (1 - yearly retention), at most 10",
		metrics: []string{"revenue", "orders"}, sets: []string{setBuyers}, noSeries: true,
		lookback: func(int32) int32 { return 2*365 - 1 }, value: predictedCLV})
	define(&KPI{ID: "spend", Name: "Acquisition spend", Unit: "currency", Formula: "campaign costs imported for the range",
		Dims: []string{DimAcquisition}, value: func(x *kpiCtx) *float64 { return num(float64(x.costs(x.dv, x.from, x.to)) / 100) }})
	define(&KPI{ID: "cac", Name: "Customer acquisition cost", Unit: "currency", Formula: "spend / new customers (by acquisition: the cost channel / the customers acquired there)",
		Dims: []string{DimAcquisition}, metrics: []string{"new_customers"},
		value: func(x *kpiCtx) *float64 {
			return ratio(float64(x.costs(x.dv, x.from, x.to))/100, x.sum("new_customers"))
		}})
	define(&KPI{ID: "nps", Name: "Net promoter score", Unit: "score", Formula: "100 x (promoters (9-10) - detractors (0-6)) / answers",
		Dims: answerDims, metrics: []string{"nps_responses", "nps_promoters", "nps_detractors"},
		value: func(x *kpiCtx) *float64 {
			return ratio(100*(x.sum("nps_promoters")-x.sum("nps_detractors")), x.sum("nps_responses"))
		}})
	define(&KPI{ID: "csat", Name: "Customer satisfaction", Unit: "percent", Formula: "100 x answers of 4 or 5 (of 5) / answers",
		Dims: answerDims, metrics: []string{"csat_responses", "csat_satisfied"},
		value: func(x *kpiCtx) *float64 { return ratio(100*x.sum("csat_satisfied"), x.sum("csat_responses")) }})
	for _, o := range []string{msgSent, msgDelivered, msgOpened, msgClicked, msgUnsubscribed, msgComplained, msgBounced} {
		define(counter("messages_"+o, "Messages "+o, "count", "message events: "+o, "messages_"+o, 1, messageDims))
	}
	define(&KPI{ID: "message_reach", Name: "Message reach", Unit: "count", Formula: "distinct profiles a message was sent or delivered to",
		Dims: messageDims, sets: []string{setReached}, value: func(x *kpiCtx) *float64 { return num(x.count(setReached)) }})
	define(&KPI{ID: "open_rate", Name: "Open rate", Unit: "ratio", Formula: "opened / delivered (sent when nothing reports deliveries)",
		Dims: messageDims, metrics: []string{"messages_opened", "messages_delivered", "messages_sent"},
		value: func(x *kpiCtx) *float64 { return engagement(x, "messages_opened") }})
	define(&KPI{ID: "click_rate", Name: "Click rate", Unit: "ratio", Formula: "clicked / delivered (sent when nothing reports deliveries)",
		Dims: messageDims, metrics: []string{"messages_clicked", "messages_delivered", "messages_sent"},
		value: func(x *kpiCtx) *float64 { return engagement(x, "messages_clicked") }})
	// The loyalty programme (docs/loyalty.md), from the ledger's events.
	define(counter("loyalty_new_members", "Loyalty: new members", "count", "members who joined (their first points)", "loyalty_joined", 1, nil))
	define(&KPI{ID: "loyalty_members", Name: "Loyalty: members", Unit: "count",
		Formula: "members who joined up to the range's end, less the accounts merged into another",
		metrics: []string{"loyalty_joined", "loyalty_merged"}, cumulative: true,
		value: func(x *kpiCtx) *float64 {
			return num(float64(x.a.upto("loyalty_joined", x.to) - x.a.upto("loyalty_merged", x.to)))
		}})
	define(&KPI{ID: "loyalty_active_members", Name: "Loyalty: active members", Unit: "count",
		Formula: "distinct members who earned or redeemed points", sets: []string{setLoyaltyActive},
		value: func(x *kpiCtx) *float64 { return num(x.count(setLoyaltyActive)) }})
	define(&KPI{ID: "loyalty_active_rate", Name: "Loyalty: active rate", Unit: "ratio",
		Formula: "active members / members at the range's end",
		metrics: []string{"loyalty_joined", "loyalty_merged"}, sets: []string{setLoyaltyActive}, cumulative: true,
		value: func(x *kpiCtx) *float64 {
			return ratio(x.count(setLoyaltyActive), float64(x.a.upto("loyalty_joined", x.to)-x.a.upto("loyalty_merged", x.to)))
		}})
	define(&KPI{ID: "loyalty_points_earned", Name: "Loyalty: points earned", Unit: "count",
		Formula: "points earned by orders and bonuses, less the points reversed by returns and cancellations",
		metrics: []string{"loyalty_points_earned", "loyalty_points_reversed"},
		value: func(x *kpiCtx) *float64 {
			return num(x.sum("loyalty_points_earned") - x.sum("loyalty_points_reversed"))
		}})
	define(counter("loyalty_points_redeemed", "Loyalty: points redeemed", "count", "points spent on rewards and at the till",
		"loyalty_points_redeemed", 1, nil))
	define(&KPI{ID: "loyalty_redemption_rate", Name: "Loyalty: redemption rate", Unit: "ratio",
		Formula: "points redeemed / points earned (less reversals) in the range",
		metrics: []string{"loyalty_points_redeemed", "loyalty_points_earned", "loyalty_points_reversed"},
		value: func(x *kpiCtx) *float64 {
			return ratio(x.sum("loyalty_points_redeemed"), x.sum("loyalty_points_earned")-x.sum("loyalty_points_reversed"))
		}})
	define(&KPI{ID: "loyalty_points_outstanding", Name: "Loyalty: points outstanding (liability)", Unit: "count",
		Formula:    "points earned + adjusted - redeemed - expired - reversed, up to the range's end (× the programme's point_value: the liability; GET /api/v1/loyalty/liability gives it in money)",
		metrics:    []string{"loyalty_points_earned", "loyalty_points_adjusted", "loyalty_points_redeemed", "loyalty_points_expired", "loyalty_points_reversed"},
		cumulative: true,
		value: func(x *kpiCtx) *float64 {
			return num(float64(x.a.upto("loyalty_points_earned", x.to) + x.a.upto("loyalty_points_adjusted", x.to) -
				x.a.upto("loyalty_points_redeemed", x.to) - x.a.upto("loyalty_points_expired", x.to) - x.a.upto("loyalty_points_reversed", x.to)))
		}})
	define(counter("stockouts_seen", "Stock-outs seen", "count", "product events a customer saw out of stock (in_stock: false)",
		"stockouts_seen", 1, []string{DimChannel, DimStore}))
}

func engagement(x *kpiCtx, metric string) *float64 {
	d := x.sum("messages_delivered")
	if d == 0 {
		d = x.sum("messages_sent")
	}
	return ratio(x.sum(metric), d)
}

// omnichannel returns the buyers (of x's channel, or of any) who visited
// on another channel than one they bought on.
func omnichannel(x *kpiCtx) *roaring.Bitmap {
	channels := x.a.values(DimChannel, nil, []string{setBuyers})
	var parts []*roaring.Bitmap
	for _, c := range channels {
		if x.dv != total && x.dv.value != c {
			continue
		}
		bought := x.a.set(setBuyers, dimval{DimChannel, c}, x.from, x.to)
		var others []*roaring.Bitmap
		for _, v := range x.a.values(DimChannel, nil, []string{setVisitors}) {
			if v != c {
				others = append(others, x.a.set(setVisitors, dimval{DimChannel, v}, x.from, x.to))
			}
		}
		parts = append(parts, roaring.And(bought, roaring.FastOr(others...)))
	}
	return roaring.FastOr(parts...)
}

// predictedCLV is AOV x purchase frequency x expected lifetime, over the
// 365 days to the range's end: frequency is orders per buyer, lifetime
// 1 / (1 - r) years where r is the share of the year before's buyers who
// bought again in the year (at most 10 years; 1 year without a year
// before).
func predictedCLV(x *kpiCtx) *float64 {
	from := x.to - 364
	orders := float64(x.a.sum("orders", total, from, x.to))
	revenue := float64(x.a.sum("revenue", total, from, x.to)) / 100
	buyers := x.a.set(setBuyers, total, from, x.to)
	before := x.a.set(setBuyers, total, from-365, from-1)
	if orders == 0 || buyers.IsEmpty() {
		return nil
	}
	lifetime := 1.0
	if !before.IsEmpty() {
		r := float64(before.AndCardinality(buyers)) / float64(before.GetCardinality())
		lifetime = math.Min(10, 1/math.Max(1-r, 0.1))
	}
	v := revenue / orders * (orders / float64(buyers.GetCardinality())) * lifetime
	return &v
}

// KPIs lists every KPI, in the documented order.
func KPIs() []*KPI {
	out := make([]*KPI, 0, len(kpiOrder))
	for _, id := range kpiOrder {
		out = append(out, kpis[id])
	}
	return out
}
