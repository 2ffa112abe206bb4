package measure

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// Two breakdowns are computed when a report asks, rather than kept per
// day: the rollups would have to know every segment's members, and which
// journey an order belongs to depends on messages that may arrive after
// it.
const (
	// DimSegment splits by the segments' current members: the KPIs of
	// the customers in each segment now.
	DimSegment = "segment"
	// DimJourney splits orders by the journey whose message the customer
	// last received, opened or clicked in the 7 days before (last-touch
	// attribution among messages), and messages by their journey.
	DimJourney = "journey"
)

// journeyLookback is how long before an order a journey's message counts.
const journeyLookback = 7 * 24 * time.Hour

// maxSegments bounds the segments a report splits by.
const maxSegments = 20

// segmentStore lists segments and their members (store.Segments).
type segmentStore interface {
	ListSegments(ctx context.Context) ([]*store.SegmentRecord, error)
	SegmentMembers(ctx context.Context, segment string, after int64, limit int) ([]store.SegmentMember, error)
}

// addJourneys adds the journey breakdown to a: orders, revenue and buyers
// by the journey their customer last heard from; the message counters and
// reach of each journey (their campaign).
func (e *Rollups) addJourneys(ctx context.Context, a *agg) error {
	// Survey answers are counted by the journey that sent the survey
	// under campaign, as messages are.
	for _, m := range []string{"messages_sent", "messages_delivered", "messages_opened", "messages_clicked", "messages_unsubscribed",
		"messages_complained", "messages_bounced", "nps_responses", "nps_promoters", "nps_detractors", "csat_responses", "csat_satisfied"} {
		for dv, v := range a.cells[m] {
			if dv.dim == DimCampaign {
				a.cells[m][dimval{DimJourney, dv.value}] = v
			}
		}
	}
	for dv, v := range a.sets[setReached] {
		if dv.dim == DimCampaign {
			jv := dimval{DimJourney, dv.value}
			a.sets[setReached][jv] = v
			a.versions[setReached][jv] = a.versions[setReached][dv]
		}
	}
	from, to := dayStart(a.base, e.zone), dayStart(a.last+1, e.zone)
	var orders []*store.MeasureOrder
	if err := e.st.ScanOrders(ctx, from, to, func(o *store.MeasureOrder) error {
		orders = append(orders, o)
		return nil
	}); err != nil {
		return err
	}
	slices.SortFunc(orders, func(x, y *store.MeasureOrder) int {
		return cmp.Or(cmp.Compare(x.Profile, y.Profile), x.At.Compare(y.At))
	})
	cells := map[string]map[dimval][]int64{"orders": {}, "revenue": {}}
	buyers := map[dimval]map[int32]*roaring.Bitmap{}
	n := int(a.last-a.base) + 2
	credit := func(o *store.MeasureOrder, journey string) {
		dv := dimval{DimJourney, journey}
		day := dayOf(o.At, e.zone)
		for metric, v := range map[string]int64{"orders": 1, "revenue": o.Cents} {
			if cells[metric][dv] == nil {
				cells[metric][dv] = make([]int64, n)
			}
			cells[metric][dv][day-a.base+1] += v
		}
		if buyers[dv] == nil {
			buyers[dv] = map[int32]*roaring.Bitmap{}
		}
		if buyers[dv][day] == nil {
			buyers[dv][day] = roaring.New()
		}
		buyers[dv][day].Add(uint32(o.Profile))
	}
	i := 0
	var last []store.MeasureTouch
	match := func(profile int64) {
		for ; i < len(orders) && orders[i].Profile < profile; i++ {
		}
		for ; i < len(orders) && orders[i].Profile == profile; i++ {
			o := orders[i]
			j := sortSearchTouch(last, o.At.Add(time.Nanosecond)) - 1 // the last touch at or before the order
			if j >= 0 && !last[j].At.Before(o.At.Add(-journeyLookback)) && last[j].Campaign != "" {
				credit(o, last[j].Campaign)
			}
		}
	}
	cur := int64(-1)
	if err := e.st.ScanTouches(ctx, from.Add(-journeyLookback), to, func(t *store.MeasureTouch) error {
		if !strings.HasPrefix(t.Kind, "message_") {
			return nil
		}
		if t.Profile != cur {
			if cur >= 0 {
				match(cur)
			}
			cur, last = t.Profile, last[:0]
		}
		last = append(last, *t)
		return nil
	}); err != nil {
		return err
	}
	if cur >= 0 {
		match(cur)
	}
	for metric, m := range cells {
		if a.cells[metric] == nil {
			a.cells[metric] = map[dimval][]int64{}
		}
		for dv, v := range m {
			for k := 1; k < len(v); k++ {
				v[k] += v[k-1]
			}
			a.cells[metric][dv] = v
		}
	}
	for dv, days := range buyers {
		for day, b := range days {
			a.addSet(setBuyers, dv, day, b, 0)
		}
	}
	return nil
}

// addSegments adds the segment breakdown to a: for the live segments (at
// most maxSegments), each loaded set of the total intersected with the
// segment's current members, and the orders and revenue of its members.
func (e *Rollups) addSegments(ctx context.Context, a *agg) error {
	ss, ok := e.st.(segmentStore)
	if !ok {
		return problem.Invalid("breakdown", "segments are not available on this engine")
	}
	recs, err := ss.ListSegments(ctx)
	if err != nil {
		return err
	}
	members := map[string]*roaring.Bitmap{}
	for _, r := range recs {
		if r.Status == "archived" {
			continue
		}
		if len(members) == maxSegments {
			return problem.Invalid("breakdown", fmt.Sprintf("more than %d live segments: archive some, or ask for one KPI at a time", maxSegments))
		}
		b := roaring.New()
		for after := int64(0); ; {
			page, err := ss.SegmentMembers(ctx, r.ID, after, 10_000)
			if err != nil {
				return err
			}
			for _, m := range page {
				b.Add(uint32(m.Profile))
			}
			if len(page) < 10_000 {
				break
			}
			after = page[len(page)-1].Profile
		}
		members[r.ID] = b
	}
	for name, byDim := range a.sets {
		days := byDim[total]
		for id, m := range members {
			v := make([]*roaring.Bitmap, len(days))
			for d, b := range days {
				if b != nil {
					v[d] = roaring.And(b, m)
				}
			}
			a.sets[name][dimval{DimSegment, id}] = v
			a.versions[name][dimval{DimSegment, id}] = make([]int64, len(days)) // computed: never shared
		}
	}
	n := int(a.last-a.base) + 2
	from, to := dayStart(a.base, e.zone), dayStart(a.last+1, e.zone)
	cells := map[string]map[dimval][]int64{"orders": {}, "revenue": {}}
	err = e.st.ScanOrders(ctx, from, to, func(o *store.MeasureOrder) error {
		day := dayOf(o.At, e.zone)
		for id, m := range members {
			if !m.Contains(uint32(o.Profile)) {
				continue
			}
			dv := dimval{DimSegment, id}
			for metric, v := range map[string]int64{"orders": 1, "revenue": o.Cents} {
				if cells[metric][dv] == nil {
					cells[metric][dv] = make([]int64, n)
				}
				cells[metric][dv][day-a.base+1] += v
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for metric, m := range cells {
		if a.cells[metric] == nil {
			a.cells[metric] = map[dimval][]int64{}
		}
		for dv, v := range m {
			for k := 1; k < len(v); k++ {
				v[k] += v[k-1]
			}
			a.cells[metric][dv] = v
		}
	}
	return nil
}
