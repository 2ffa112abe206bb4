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

// The events a cohort is defined by and the activity its retention counts.
const (
	CohortFirstOrder = "first_order" // customers by the period of their first order
	CohortFirstSeen  = "first_seen"  // profiles by the period of their first visit
	ActivityOrders   = "orders"      // who bought in a period
	ActivityVisits   = "visits"      // who visited in a period
)

// CohortQuery asks for a cohort table.
type CohortQuery struct {
	From, To string // the cohorts: first orders (or visits) in [From, To]; default the last 180 days
	Interval string // week or month (default)
	By       string // first_order (default) or first_seen
	Activity string // orders (default for first_order) or visits (default for first_seen)
	// Split makes one cohort per period and value: acquisition (how the
	// customer first came), channel or store (of the first order).
	Split string
	// Periods bounds the periods after the cohort's (default: up to
	// today, at most 36).
	Periods int
}

// CohortReport is a retention table: per cohort (a period, and a value of
// the split), its size and, for each period after it, how many of its
// customers were active and what they spent.
type CohortReport struct {
	Range    Period   `json:"range"`
	TimeZone string   `json:"time_zone"`
	Interval string   `json:"interval"`
	By       string   `json:"by"`
	Activity string   `json:"activity"`
	Split    string   `json:"split,omitempty"`
	Cohorts  []Cohort `json:"cohorts"`
	AsOf     int64    `json:"as_of_seq"`
}

// Cohort is one row of the table.
type Cohort struct {
	Period string `json:"period"` // the cohort's first day
	Value  string `json:"value,omitempty"`
	Size   int64  `json:"customers"`
	// Periods are the cohort's periods from its own (offset 0) to today.
	Periods []CohortPeriod `json:"periods"`
}

// CohortPeriod is one cell: the cohort's customers active in the period,
// as a share of its size, and the revenue of their orders in it (and
// per customer since the cohort's period, cumulated: a lifetime value
// curve).
type CohortPeriod struct {
	Offset         int      `json:"offset"`
	Period         string   `json:"period"`
	Active         int64    `json:"active"`
	Retention      *float64 `json:"retention"`
	Revenue        float64  `json:"revenue"`
	CumulativeARPU *float64 `json:"cumulative_revenue_per_customer"`
}

// Cohorts computes a cohort table from the rollups (and the orders, for
// revenue).
func (e *Rollups) Cohorts(ctx context.Context, q CohortQuery) (*CohortReport, error) {
	today := e.today()
	if q.From == "" && q.To == "" {
		q.From = dayString(today - 179)
	}
	p, err := parsePeriod(q.From, q.To, today)
	if err != nil {
		return nil, err
	}
	if q.Interval == "" {
		q.Interval = IntervalMonth
	}
	if q.Interval != IntervalWeek && q.Interval != IntervalMonth {
		return nil, problem.Invalid("interval", fmt.Sprintf("%q: cohorts are by week or month", q.Interval))
	}
	if q.By == "" {
		q.By = CohortFirstOrder
	}
	newSet := setNewCustomers
	switch q.By {
	case CohortFirstOrder:
	case CohortFirstSeen:
		newSet = setNewVisitors
	default:
		return nil, problem.Invalid("by", fmt.Sprintf("%q is not first_order or first_seen", q.By))
	}
	if q.Activity == "" {
		q.Activity = map[string]string{CohortFirstOrder: ActivityOrders, CohortFirstSeen: ActivityVisits}[q.By]
	}
	active := map[string]string{ActivityOrders: setBuyers, ActivityVisits: setVisitors}[q.Activity]
	if active == "" {
		return nil, problem.Invalid("activity", fmt.Sprintf("%q is not orders or visits", q.Activity))
	}
	splits := map[string][]string{CohortFirstOrder: {DimAcquisition, DimChannel, DimStore}, CohortFirstSeen: {DimAcquisition}}[q.By]
	if q.Split != "" && !slices.Contains(splits, q.Split) {
		return nil, problem.Invalid("split", fmt.Sprintf("%q: %s cohorts split by %s", q.Split, q.By, strings.Join(splits, ", ")))
	}
	if q.Periods <= 0 || q.Periods > 36 {
		q.Periods = 36
	}
	end := max(today, p.to)
	cohorts, err := buckets(p, q.Interval)
	if err != nil {
		return nil, err
	}
	var dims []string
	if q.Split != "" {
		dims = []string{q.Split}
	}
	a, err := e.loadAgg(ctx, p.from, end, nil, []string{newSet, active}, dims, false)
	if err != nil {
		return nil, err
	}
	asOf, err := e.st.Checkpoint(ctx, Consumer)
	if err != nil {
		return nil, err
	}
	out := &CohortReport{Range: p, TimeZone: e.zone.String(), Interval: q.Interval, By: q.By, Activity: q.Activity, Split: q.Split,
		Cohorts: []Cohort{}, AsOf: asOf}
	values := []string{""}
	if q.Split != "" {
		values = a.values(q.Split, nil, []string{newSet})
		slices.Sort(values)
	}
	// Every period from the first cohort's to today, or to the last day
	// anything happened if that is earlier (history imported long ago).
	periods, err := buckets(newPeriod(p.from, max(p.to, min(end, a.lastDay(active)))), q.Interval)
	if err != nil {
		return nil, err
	}
	owner := map[uint32]int{} // profile -> index in out.Cohorts (first_order cohorts: one each)
	for ci, c := range cohorts {
		for _, v := range values {
			dv := total
			if q.Split != "" {
				dv = dimval{q.Split, v}
			}
			set := a.set(newSet, dv, c.from, c.to)
			if set.IsEmpty() {
				continue
			}
			row := Cohort{Period: dayString(c.from), Value: v, Size: int64(set.GetCardinality()), Periods: []CohortPeriod{}}
			for k := 0; ci+k < len(periods) && k <= q.Periods; k++ {
				b := periods[ci+k]
				n := int64(set.AndCardinality(a.set(active, total, b.from, b.to)))
				row.Periods = append(row.Periods, CohortPeriod{Offset: k, Period: dayString(b.from), Active: n,
					Retention: ratio(float64(n), float64(row.Size))})
			}
			idx := len(out.Cohorts)
			it := set.Iterator()
			for it.HasNext() {
				owner[it.Next()] = idx
			}
			out.Cohorts = append(out.Cohorts, row)
		}
	}
	if err := e.cohortRevenue(ctx, out, owner, periods); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out.Cohorts, func(x, y Cohort) int {
		return cmp.Or(strings.Compare(x.Period, y.Period), strings.Compare(x.Value, y.Value))
	})
	return out, nil
}

// cohortRevenue adds, per cohort and period, the revenue of its customers'
// orders, and the cumulated revenue per customer.
func (e *Rollups) cohortRevenue(ctx context.Context, out *CohortReport, owner map[uint32]int, periods []bucket) error {
	if len(out.Cohorts) == 0 {
		return nil
	}
	start := map[string]int{} // a cohort's period -> its index in periods
	for i, b := range periods {
		start[dayString(b.from)] = i
	}
	cents := make([][]int64, len(out.Cohorts))
	for i := range out.Cohorts {
		cents[i] = make([]int64, len(out.Cohorts[i].Periods))
	}
	first, last := periods[0].from, periods[len(periods)-1].to
	err := e.st.ScanOrders(ctx, dayStart(first, e.zone), dayStart(last+1, e.zone), func(o *store.MeasureOrder) error {
		ci, ok := owner[uint32(o.Profile)]
		if !ok || o.Profile > 1<<32-1 {
			return nil
		}
		d := dayOf(o.At, e.zone)
		pi, _ := slices.BinarySearchFunc(periods, d, func(b bucket, d int32) int {
			switch {
			case b.to < d:
				return -1
			case b.from > d:
				return 1
			}
			return 0
		})
		k := pi - start[out.Cohorts[ci].Period]
		if k >= 0 && k < len(cents[ci]) {
			cents[ci][k] += o.Cents
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range out.Cohorts {
		c := &out.Cohorts[i]
		var cum int64
		for k := range c.Periods {
			cum += cents[i][k]
			c.Periods[k].Revenue = float64(cents[i][k]) / 100
			c.Periods[k].CumulativeARPU = ratio(float64(cum)/100, float64(c.Size))
		}
	}
	return nil
}
