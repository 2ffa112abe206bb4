package measure

import (
	"context"
	"math"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/parcours/parcours/internal/store"
)

// dimval is one value of a dimension ("", "": the total).
type dimval struct{ dim, value string }

var total = dimval{}

// agg answers sums of counters and unions of profile sets over ranges of
// days, from what one report loaded.
type agg struct {
	base, last int32
	cells      map[string]map[dimval][]int64 // metric -> prefix sums over [base, last]
	sets       map[string]map[dimval][]*roaring.Bitmap
	versions   map[string]map[dimval][]int64 // of each day's set
	unions     map[unionKey]*roaring.Bitmap
	shared     *setReader // unions kept across reports (nil: none)
	// cum holds the sums of metrics (total) over every day up to last,
	// for the cumulative KPIs (lifetime value).
	cum   map[string][]int64 // metric -> prefix sums over [base, last], plus before[metric] before base
	prior map[string]int64
	costs []store.MeasureCost
}

type unionKey struct {
	name     string
	dv       dimval
	from, to int32
}

func newAgg(base, last int32) *agg {
	return &agg{base: base, last: last, cells: map[string]map[dimval][]int64{}, sets: map[string]map[dimval][]*roaring.Bitmap{},
		versions: map[string]map[dimval][]int64{}, unions: map[unionKey]*roaring.Bitmap{}, prior: map[string]int64{}}
}

// addCells loads counters (their prefix sums are built by prefix).
func (a *agg) addCells(cells []store.MeasureCell) {
	n := int(a.last - a.base + 1)
	for _, c := range cells {
		if c.Day < a.base {
			if c.Dim == "" {
				a.prior[c.Metric] += c.N
			}
			continue
		}
		if c.Day > a.last {
			continue
		}
		m := a.cells[c.Metric]
		if m == nil {
			m = map[dimval][]int64{}
			a.cells[c.Metric] = m
		}
		dv := dimval{c.Dim, c.Value}
		v := m[dv]
		if v == nil {
			v = make([]int64, n+1)
			m[dv] = v
		}
		v[c.Day-a.base+1] += c.N
	}
}

// prefix turns the loaded per-day counters into prefix sums.
func (a *agg) prefix() {
	for _, m := range a.cells {
		for _, v := range m {
			for i := 1; i < len(v); i++ {
				v[i] += v[i-1]
			}
		}
	}
}

// sum returns the metric's sum over [from, to] for dv.
func (a *agg) sum(metric string, dv dimval, from, to int32) int64 {
	v := a.cells[metric][dv]
	if v == nil {
		return 0
	}
	from, to = max(from, a.base), min(to, a.last)
	if from > to {
		return 0
	}
	return v[to-a.base+1] - v[from-a.base]
}

// upto returns the metric's total over every day up to to.
func (a *agg) upto(metric string, to int32) int64 {
	return a.prior[metric] + a.sum(metric, total, a.base, to)
}

// addSet loads one day's set (version: of the stored row; 0 for a set a
// report computed, which is never shared).
func (a *agg) addSet(name string, dv dimval, day int32, b *roaring.Bitmap, version int64) {
	if day < a.base || day > a.last {
		return
	}
	m := a.sets[name]
	if m == nil {
		m = map[dimval][]*roaring.Bitmap{}
		a.sets[name] = m
		a.versions[name] = map[dimval][]int64{}
	}
	v := m[dv]
	if v == nil {
		v = make([]*roaring.Bitmap, a.last-a.base+1)
		m[dv] = v
		a.versions[name][dv] = make([]int64, a.last-a.base+1)
	}
	v[day-a.base] = b
	a.versions[name][dv][day-a.base] = version
}

// set returns the union of the set's days in [from, to] for dv (never
// nil; the caller must not change it).
func (a *agg) set(name string, dv dimval, from, to int32) *roaring.Bitmap {
	k := unionKey{name, dv, from, to}
	if u, ok := a.unions[k]; ok {
		return u
	}
	var parts []*roaring.Bitmap
	v, vers := a.sets[name][dv], a.versions[name][dv]
	var sig [3]int64 // days, the highest version, the sum of versions
	shareable := a.shared != nil
	for d := max(from, a.base); d <= min(to, a.last) && v != nil; d++ {
		if b := v[d-a.base]; b != nil {
			parts = append(parts, b)
			ver := vers[d-a.base]
			shareable = shareable && ver > 0
			sig = [3]int64{sig[0] + 1, max(sig[1], ver), sig[2] + ver}
		}
	}
	var u *roaring.Bitmap
	switch {
	case len(parts) == 0:
		u = roaring.New()
	case len(parts) == 1:
		u = parts[0] // shared, read only: no copy of a day's set
	case shareable:
		u = a.shared.union(k, sig, func() *roaring.Bitmap { return roaring.FastOr(parts...) })
	default:
		u = roaring.FastOr(parts...)
	}
	a.unions[k] = u
	return u
}

// lastDay is the last loaded day the set has members (base - 1: none).
func (a *agg) lastDay(name string) int32 {
	v := a.sets[name][total]
	for d := len(v) - 1; d >= 0; d-- {
		if v[d] != nil && !v[d].IsEmpty() {
			return a.base + int32(d)
		}
	}
	return a.base - 1
}

// values lists the values of dim that the metric or set has in the
// loaded days.
func (a *agg) values(dim string, metrics, sets []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(dv dimval) {
		if dv.dim == dim && !seen[dv.value] {
			seen[dv.value] = true
			out = append(out, dv.value)
		}
	}
	for _, m := range metrics {
		for dv := range a.cells[m] {
			add(dv)
		}
	}
	for _, s := range sets {
		for dv := range a.sets[s] {
			add(dv)
		}
	}
	return out
}

// ratio returns n/d, nil when d is 0.
func ratio(n, d float64) *float64 {
	if d == 0 || math.IsNaN(n) || math.IsNaN(d) {
		return nil
	}
	v := n / d
	return &v
}

func num(v float64) *float64 { return &v }

// loadAgg reads what a report over [base, last] needs: the counters of
// metrics and the sets of names, for the total and dims; cumulative, the
// metrics summed since the beginning.
func (e *Rollups) loadAgg(ctx context.Context, base, last int32, metrics, names, dims []string, cumulative bool) (*agg, error) {
	a := newAgg(base, last)
	a.shared = e.sets
	dimList := append([]string{""}, dims...)
	if len(metrics) > 0 {
		from := base
		if cumulative {
			from = math.MinInt32
		}
		cells, err := e.st.MeasureCells(ctx, store.CellQuery{From: from, To: last, Metrics: metrics, Dims: dimList})
		if err != nil {
			return nil, err
		}
		a.addCells(cells)
		a.prefix()
	}
	if len(names) > 0 {
		if err := e.sets.read(ctx, e.st, base, last, names, dimList, a.addSet); err != nil {
			return nil, err
		}
	}
	return a, nil
}
