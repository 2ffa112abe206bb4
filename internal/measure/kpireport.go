package measure

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// KPIQuery asks for indicators over a range of days.
type KPIQuery struct {
	From, To string   // dates, both included; default: the last 30 days
	KPIs     []string // default: DefaultKPIs
	// Breakdown is a dimension (channel, source, store, fulfillment,
	// campaign, acquisition, segment, journey) each KPI that supports it is
	// split by.
	Breakdown string
	// Interval buckets the series: day, week or month; default: by the
	// range's length.
	Interval string
}

// KPIReport is the answer: each KPI over the range and the previous range
// of the same length, with series ready to plot.
type KPIReport struct {
	Range     Period       `json:"range"`
	Previous  Period       `json:"previous"`
	TimeZone  string       `json:"time_zone"`
	Interval  string       `json:"interval"`
	Breakdown string       `json:"breakdown,omitempty"`
	KPIs      []*KPIResult `json:"kpis"`
	// AsOf is the last event (seq) the rollups counted.
	AsOf int64 `json:"as_of_seq"`
}

// KPIResult is one indicator. Values are null where undefined (a rate
// without a denominator).
type KPIResult struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Unit     string   `json:"unit"`
	Formula  string   `json:"formula"`
	Value    *float64 `json:"value"`
	Previous *float64 `json:"previous"`
	// Change is (value - previous) / |previous|, null when previous is 0
	// or null.
	Change         *float64       `json:"change"`
	Series         []Point        `json:"series,omitempty"`
	PreviousSeries []Point        `json:"previous_series,omitempty"`
	Breakdown      []BreakdownRow `json:"breakdown,omitempty"`
	// Note says why something is missing (a breakdown the KPI does not
	// support, no series).
	Note string `json:"note,omitempty"`
}

// BreakdownRow is a KPI for one value of the breakdown.
type BreakdownRow struct {
	Value    string   `json:"value"`
	Current  *float64 `json:"current"`
	Previous *float64 `json:"previous"`
	Change   *float64 `json:"change"`
	Series   []Point  `json:"series,omitempty"`
}

// Point is one point of a series: the bucket's first day and the value.
type Point struct {
	T string   `json:"t"`
	V *float64 `json:"v"`
}

// dims lists the breakdowns, for errors.
var dims = []string{DimChannel, DimSource, DimStore, DimFulfillment, DimCampaign, DimAcquisition, DimSegment, DimJourney, DimAgent}

// KPIs computes the indicators q asks for.
func (e *Rollups) KPIs(ctx context.Context, q KPIQuery) (*KPIReport, error) {
	cur, err := parsePeriod(q.From, q.To, e.today())
	if err != nil {
		return nil, err
	}
	ids := q.KPIs
	if len(ids) == 0 {
		ids = DefaultKPIs
	}
	var list []*KPI
	for _, id := range ids {
		k := kpis[strings.TrimSpace(id)]
		if k == nil {
			return nil, problem.Invalid("kpis", fmt.Sprintf("%q is not a KPI; KPIs: %s", id, strings.Join(kpiOrder, ", ")))
		}
		list = append(list, k)
	}
	if q.Breakdown != "" && !slices.Contains(dims, q.Breakdown) {
		return nil, problem.Invalid("breakdown", fmt.Sprintf("%q is not a breakdown; breakdowns: %s", q.Breakdown, strings.Join(dims, ", ")))
	}
	interval := q.Interval
	if interval == "" {
		interval = defaultInterval(cur)
	}
	bs, err := buckets(cur, interval)
	if err != nil {
		return nil, err
	}
	prev := cur.previous()
	base := prev.from
	var metrics, names []string
	cumulative, costs := false, false
	for _, k := range list {
		if k.lookback != nil {
			base = min(base, prev.from-k.lookback(int32(cur.Days)), cur.to-k.lookback(int32(cur.Days)))
		}
		metrics, names = append(metrics, k.metrics...), append(names, k.sets...)
		cumulative = cumulative || k.cumulative
		costs = costs || k.ID == "spend" || k.ID == "cac"
	}
	slices.Sort(metrics)
	slices.Sort(names)
	var bd []string
	switch q.Breakdown {
	case "", DimSegment: // computed from the totals
	case DimJourney:
		bd = []string{DimCampaign} // messages' journeys; orders computed
	default:
		bd = []string{q.Breakdown}
	}
	for _, k := range list {
		for _, d := range k.needs {
			if !slices.Contains(bd, d) {
				bd = append(bd, d)
			}
		}
	}
	a, err := e.loadAgg(ctx, base, cur.to, slices.Compact(metrics), slices.Compact(names), bd, cumulative)
	if err != nil {
		return nil, err
	}
	switch q.Breakdown {
	case DimSegment:
		err = e.addSegments(ctx, a)
	case DimJourney:
		err = e.addJourneys(ctx, a)
	}
	if err != nil {
		return nil, err
	}
	costFn, err := e.costs(ctx, costs, base, cur.to)
	if err != nil {
		return nil, err
	}
	asOf, err := e.st.Checkpoint(ctx, Consumer)
	if err != nil {
		return nil, err
	}
	out := &KPIReport{Range: cur, Previous: prev, TimeZone: e.zone.String(), Interval: interval, Breakdown: q.Breakdown, AsOf: asOf}
	for _, k := range list {
		out.KPIs = append(out.KPIs, kpiResult(k, a, costFn, cur, prev, bs, q.Breakdown))
	}
	return out, nil
}

// kpiResult computes one KPI: value, previous, series, breakdown.
func kpiResult(k *KPI, a *agg, costs costTable, cur, prev Period, bs []bucket, breakdown string) *KPIResult {
	at := func(dv dimval, from, to int32) *float64 {
		return k.value(&kpiCtx{a: a, dv: dv, from: from, to: to, costs: costs.sum})
	}
	r := &KPIResult{ID: k.ID, Name: k.Name, Unit: k.Unit, Formula: k.Formula}
	r.Value, r.Previous = at(total, cur.from, cur.to), at(total, prev.from, prev.to)
	r.Change = change(r.Value, r.Previous)
	// The previous period's buckets are the current ones moved back by
	// the period's length.
	shift := int32(cur.Days)
	series := func(dv dimval, previous bool) (now, before []Point) {
		for _, b := range bs {
			now = append(now, Point{T: dayString(b.from), V: at(dv, b.from, b.to)})
			if previous {
				before = append(before, Point{T: dayString(b.from - shift), V: at(dv, b.from-shift, b.to-shift)})
			}
		}
		return now, before
	}
	if k.noSeries {
		r.Note = "no series: each point would read two years of buyers"
	} else {
		r.Series, r.PreviousSeries = series(total, true)
	}
	if breakdown == "" {
		return r
	}
	if !slices.Contains(k.Dims, breakdown) {
		r.Note = strings.TrimPrefix(r.Note+"; ", "; ") + fmt.Sprintf("not broken down by %s (breakdowns: %s)", breakdown, strings.Join(k.Dims, ", "))
		if len(k.Dims) == 0 {
			r.Note = strings.TrimSuffix(r.Note, " (breakdowns: )") + " (it has no breakdown)"
		}
		return r
	}
	values := a.values(breakdown, k.metrics, k.sets)
	if breakdown == DimAcquisition && (k.ID == "spend" || k.ID == "cac") {
		for _, c := range costs.channels() {
			if !slices.Contains(values, c) {
				values = append(values, c)
			}
		}
	}
	for _, v := range values {
		dv := dimval{breakdown, v}
		row := BreakdownRow{Value: v, Current: at(dv, cur.from, cur.to), Previous: at(dv, prev.from, prev.to)}
		row.Change = change(row.Current, row.Previous)
		if !k.noSeries {
			row.Series, _ = series(dv, false) // the previous range's, per value, nobody plots
		}
		r.Breakdown = append(r.Breakdown, row)
	}
	slices.SortFunc(r.Breakdown, func(x, y BreakdownRow) int {
		return cmp.Or(cmp.Compare(orZero(y.Current), orZero(x.Current)), strings.Compare(x.Value, y.Value))
	})
	return r
}

func orZero(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}

// change is the relative change from prev to cur.
func change(cur, prev *float64) *float64 {
	if cur == nil || prev == nil || *prev == 0 {
		return nil
	}
	v := (*cur - *prev) / abs(*prev)
	return &v
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// costTable is the spend of the days a report loaded.
type costTable []store.MeasureCost

// sum is the spend of dv (an acquisition channel, or the total) in
// [from, to].
func (t costTable) sum(dv dimval, from, to int32) int64 {
	var n int64
	for _, c := range t {
		if c.Day >= from && c.Day <= to && (dv == total || c.Channel == dv.value) {
			n += c.Cents
		}
	}
	return n
}

// channels lists the cost channels.
func (t costTable) channels() []string {
	var out []string
	for _, c := range t {
		if !slices.Contains(out, c.Channel) {
			out = append(out, c.Channel)
		}
	}
	return out
}

// costs reads the spend of [from, to] when the report needs it.
func (e *Rollups) costs(ctx context.Context, need bool, from, to int32) (costTable, error) {
	if !need {
		return nil, nil
	}
	rows, err := e.st.MeasureCosts(ctx, from, to)
	if err != nil {
		return nil, err
	}
	return costTable(rows), nil
}
