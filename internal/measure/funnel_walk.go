package measure

import (
	"math"
	"slices"
)

// A customer's occurrences, sorted by time, are walked once to find how
// far they went, by the funnel's order.

// chain is a customer's way through the funnel: the time and channel of
// each step reached.
type chain struct {
	n  int
	at [maxSteps]int64
	ch [maxSteps]uint8
}

// walk finds how far one customer went and records it.
func (f *funnelScan) walk(p uint32, g []occ) {
	var best chain
	switch f.q.Order {
	case OrderAny:
		best = f.walkAny(g)
	case OrderStrict:
		best = f.walkStrict(g)
	default:
		best = f.walkSequence(g)
	}
	if best.n == 0 {
		return
	}
	for i := range best.n {
		f.reached[i]++
		f.channels[i][best.ch[i]]++
		if i > 0 {
			f.times[i] = append(f.times[i], float64(best.at[i]-best.at[i-1])/1000)
		}
	}
	if best.n < len(f.q.Steps) {
		f.markDropped(p, &best)
	}
}

// walkSequence keeps, for each level, the chain that reached it with the
// latest start (it leaves the most room in its window): the deepest level
// any chain reaches is how far the customer went.
func (f *funnelScan) walkSequence(g []occ) chain {
	var lv [maxSteps + 1]chain // lv[i]: a chain that reached i steps
	best := 0
	for _, o := range g {
		s := int(o.step)
		if s == 0 {
			if o.at >= f.from && o.at < f.to {
				lv[1] = chain{n: 1}
				lv[1].at[0], lv[1].ch[0] = o.at, o.ch
				best = max(best, 1)
			}
			continue
		}
		prev := &lv[s]
		if prev.n != s || o.at-prev.at[0] > f.window || o.at < prev.at[s-1] {
			continue
		}
		if next := &lv[s+1]; next.n == s+1 && next.at[0] >= prev.at[0] {
			continue // as late a start already reached it (first time kept)
		}
		lv[s+1] = *prev
		lv[s+1].n, lv[s+1].at[s], lv[s+1].ch[s] = s+1, o.at, o.ch
		best = max(best, s+1)
	}
	return lv[best]
}

// walkStrict follows one chain at a time: any event that is not the next
// step breaks it (a first step starts a new one).
func (f *funnelScan) walkStrict(g []occ) chain {
	var cur, best chain
	for _, o := range g {
		s := int(o.step)
		switch {
		case cur.n > 0 && s == cur.n && o.at-cur.at[0] <= f.window:
			cur.at[s], cur.ch[s] = o.at, o.ch
			cur.n++
		case s == 0 && o.at >= f.from && o.at < f.to:
			cur = chain{n: 1}
			cur.at[0], cur.ch[0] = o.at, o.ch
		default:
			cur.n = 0
		}
		if cur.n > best.n {
			best = cur
		}
	}
	return best
}

// walkAny tries each event in the entry range as the window's start and
// finds the longest prefix of steps all done within the window; step i is
// reached when the last of steps 1..i is first done.
func (f *funnelScan) walkAny(g []occ) chain {
	var best chain
	k := len(f.q.Steps)
	for a := range g {
		if g[a].at < f.from || g[a].at >= f.to {
			continue
		}
		var c chain
		var seen [maxSteps]bool
		var when [maxSteps]int64
		var chs [maxSteps]uint8
		for b := a; b < len(g) && g[b].at-g[a].at <= f.window; b++ {
			s := int(g[b].step)
			if s < 0 || seen[s] {
				continue
			}
			seen[s], when[s], chs[s] = true, g[b].at, g[b].ch
			for c.n < k && seen[c.n] {
				c.at[c.n] = when[c.n]
				if c.n > 0 {
					c.at[c.n] = max(when[c.n], c.at[c.n-1])
				}
				c.ch[c.n] = chs[c.n]
				c.n++
			}
			if c.n == k {
				break
			}
		}
		if c.n > best.n {
			best = c
			if best.n == k {
				break
			}
		}
	}
	return best
}

func (f *funnelScan) markDropped(p uint32, c *chain) {
	d := &f.drop
	if !d.anyDrops {
		// Only step says who dropped; the others are read for those.
		sd := &f.sc.drop
		d.step = zeroed(sd.step, f.n)
		d.at, d.end, d.ch = grown(sd.at, f.n), grown(sd.end, f.n), grown(sd.ch, f.n)
		*sd = *d
	}
	d.step[p], d.at[p], d.end[p], d.ch[p] = uint8(c.n), c.at[c.n-1], c.at[0]+f.window, c.ch[c.n-1]
	d.anyDrops = true
}

// median of a list (reordered in place); nil when empty.
func median(v []float64) *float64 {
	if len(v) == 0 {
		return nil
	}
	m := nth(v, len(v)/2)
	if len(v)%2 == 0 {
		m = (slices.Max(v[:len(v)/2]) + m) / 2 // nth left the smaller half before it
	}
	if math.IsNaN(m) {
		return nil
	}
	return &m
}

// nth returns the k-th smallest value of v (0-based), reordering v so that
// the ones before it are not larger (quickselect: linear on average, where
// a sort of a million durations took tens of milliseconds).
func nth(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		p := v[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// grown returns s with length n, reusing its array when it is large
// enough, not zeroed (every entry read is written first).
func grown[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
