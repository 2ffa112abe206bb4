package measure

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// orderEvent is the event whose occurrence after a drop means the customer
// bought anyway.
const orderEvent = EventOrderCompleted

// nextSeen is what the dropped customers did after the step they reached.
type nextSeen struct {
	at      []int64 // their first event after it (MaxInt64: none)
	name    []uint16
	ch      []uint8
	orderAt []int64 // their first order after it (MaxInt64: none)
	orderCh []uint8
	names   []string
}

// next scans every event of the index once for the customers who dropped:
// their first event after the step they reached, within their window, and
// whether they ordered anyway. Messages sent or delivered to them are not
// something they did: they are skipped (opens and clicks are not).
func (f *funnelScan) next(ctx context.Context) error {
	d := &f.drop
	sn := &f.sc.next
	n := &nextSeen{at: grown(sn.at, f.n), name: grown(sn.name, f.n), ch: grown(sn.ch, f.n),
		orderAt: grown(sn.orderAt, f.n), orderCh: grown(sn.orderCh, f.n), names: f.v.Names()}
	*sn = *n
	for i := range n.at {
		n.at[i], n.orderAt[i] = math.MaxInt64, math.MaxInt64
	}
	for k, name := range n.names {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch o, _ := messageOutcome(name, ""); o {
		case msgSent, msgDelivered, msgBounced:
			continue // the brand's doing, not the customer's
		}
		r, _ := f.v.Rows(name, nil)
		isOrder := name == orderEvent
		for j := range r.Len() {
			p := r.Profile(j)
			if int(p) >= f.n || d.step[p] == 0 {
				continue
			}
			at := r.At(j)
			if at <= d.at[p] || at > d.end[p] || !r.Match(j) {
				continue
			}
			if at < n.at[p] {
				n.at[p], n.name[p], n.ch[p] = at, uint16(k), r.ChannelCode(j)
			}
			if isOrder && at < n.orderAt[p] {
				n.orderAt[p], n.orderCh[p] = at, r.ChannelCode(j)
			}
		}
	}
	f.seen = n
	return nil
}

// report turns the counts into the answer.
func (f *funnelScan) report() *FunnelReport {
	out := &FunnelReport{Steps: []StepResult{}, Friction: []Friction{}}
	first := float64(f.reached[0])
	for i, s := range f.q.Steps {
		r := StepResult{Step: i + 1, Name: s.Name, Event: s.Event, Customers: f.reached[i], Conversion: ratio(float64(f.reached[i]), first),
			Channels: f.channelCounts(f.channels[i][:])}
		if i > 0 {
			r.FromPrevious = ratio(float64(f.reached[i]), float64(f.reached[i-1]))
			r.Dropped = f.reached[i-1] - f.reached[i]
			if m := median(f.times[i]); m != nil {
				r.MedianSeconds, r.Median = m, humanSeconds(*m)
			}
		}
		out.Steps = append(out.Steps, r)
	}
	out.Conversion = ratio(float64(f.reached[len(f.reached)-1]), first)
	for i := 0; i+1 < len(f.q.Steps); i++ {
		out.Friction = append(out.Friction, f.friction(i+1))
	}
	// The worst drop first: where to look.
	slices.SortStableFunc(out.Friction, func(a, b Friction) int { return cmp.Compare(b.Dropped, a.Dropped) })
	return out
}

// friction describes the customers who reached step (1-based) and not the
// next.
func (f *funnelScan) friction(step int) Friction {
	fr := Friction{After: step, Step: f.q.Steps[step-1].Name, Next: f.q.Steps[step].Name, Dropped: f.reached[step-1] - f.reached[step],
		Then: []NextCount{}, Ordered: []ChannelCount{}, TopNext: []EventCount{}}
	fr.Rate = ratio(float64(fr.Dropped), float64(f.reached[step-1]))
	if f.seen == nil {
		return fr
	}
	d, n := &f.drop, f.seen
	then := map[[2]string]int64{}
	var ordered [256]int64
	top := map[[2]string]int64{}
	for p := range d.step {
		if int(d.step[p]) != step {
			continue
		}
		switch {
		case n.at[p] == math.MaxInt64:
			then[[2]string{"nothing", ""}]++
		default:
			ch := f.channelName(n.ch[p])
			switch {
			case storeChannels[ch]:
				then[[2]string{"store_visit", ch}]++
			case n.ch[p] != d.ch[p]:
				then[[2]string{"other_channel", ch}]++
			default:
				then[[2]string{"same_channel", ch}]++
			}
			top[[2]string{n.names[n.name[p]], ch}]++
		}
		if n.orderAt[p] != math.MaxInt64 {
			ordered[n.orderCh[p]]++
		}
	}
	for k, c := range then {
		fr.Then = append(fr.Then, NextCount{What: k[0], Channel: k[1], Customers: c})
	}
	slices.SortFunc(fr.Then, func(a, b NextCount) int {
		return cmp.Or(cmp.Compare(b.Customers, a.Customers), strings.Compare(a.What, b.What), strings.Compare(a.Channel, b.Channel))
	})
	fr.Ordered = f.channelCounts(ordered[:])
	for k, c := range top {
		fr.TopNext = append(fr.TopNext, EventCount{Event: k[0], Channel: k[1], Customers: c})
	}
	slices.SortFunc(fr.TopNext, func(a, b EventCount) int {
		return cmp.Or(cmp.Compare(b.Customers, a.Customers), strings.Compare(a.Event, b.Event), strings.Compare(a.Channel, b.Channel))
	})
	if len(fr.TopNext) > 5 {
		fr.TopNext = fr.TopNext[:5]
	}
	return fr
}

// channelName names a channel code ("unknown" for rows indexed without
// one).
func (f *funnelScan) channelName(c uint8) string {
	if name := f.v.Channel(c); name != "" {
		return name
	}
	return "unknown"
}

// channelCounts lists counts by channel code, largest first.
func (f *funnelScan) channelCounts(m []int64) []ChannelCount {
	out := []ChannelCount{}
	for c, n := range m {
		if n > 0 {
			out = append(out, ChannelCount{Channel: f.channelName(uint8(c)), Customers: n})
		}
	}
	slices.SortFunc(out, func(a, b ChannelCount) int {
		return cmp.Or(cmp.Compare(b.Customers, a.Customers), strings.Compare(a.Channel, b.Channel))
	})
	return out
}

// humanSeconds writes a duration for people: 45s, 12m, 3h20m, 2d4h.
func humanSeconds(s float64) string {
	d := time.Duration(s * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < 24*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	return fmt.Sprintf("%dd%dh", d/(24*time.Hour), (d%(24*time.Hour)).Round(time.Hour)/time.Hour)
}
