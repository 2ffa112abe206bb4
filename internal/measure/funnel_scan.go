package measure

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
)

// A funnel is computed in passes over the index's rows, never reading the
// log: a first pass counts each customer's occurrences of the steps (and,
// for a strict funnel, of any event), then the customers are taken in
// chunks of about chunkOccurrences occurrences: one pass places a chunk's
// occurrences side by side per customer (a counting sort), each customer's
// are sorted by time and walked once. The last pass looks at what the
// customers who dropped did next. Memory stays bounded whatever the number
// of events.

// chunkOccurrences bounds the occurrences held at once (16 bytes each: 128
// MB; each chunk is one more pass over the steps' rows).
var chunkOccurrences = 8 << 20

// occ is one event of a customer that matters to the funnel.
type occ struct {
	at   int64 // Unix milliseconds
	step int8  // 0-based; -1: another event (strict funnels)
	ch   uint8
}

// otherRows are the rows of an event name for a strict funnel, with the
// steps of that name (their rows are step occurrences, not others).
type otherRows struct {
	rows  *segment.IndexRows
	steps []int
}

// stepRows are the rows of one step and the channels it accepts.
type stepRows struct {
	rows     *segment.IndexRows
	channels []bool // by channel code; nil: any
}

type funnelScan struct {
	v        *segment.IndexView
	q        *FunnelQuery
	from, to int64 // entry range, Unix ms [from, to)
	window   int64
	steps    []stepRows
	others   []otherRows // every event name (strict)
	n        int         // profiles
	counts   []uint32    // occurrences per profile
	first    []bool      // profiles with a first step in the entry range

	sc *scratch // the big arrays, reused from funnel to funnel

	// Results.
	reached  []int64
	channels [][256]int64 // customers per step and channel code
	times    [][]float64  // seconds from the previous step
	drop     dropped
	seen     *nextSeen
}

// dropped is, per profile that dropped, the step it reached (1-based; 0:
// did not drop), when, on which channel, and when its window ends.
type dropped struct {
	step     []uint8
	at, end  []int64
	ch       []uint8
	anyDrops bool
}

func newFunnelScan(v *segment.IndexView, q *FunnelQuery, from, to int64) (*funnelScan, error) {
	f := &funnelScan{v: v, q: q, from: from, to: to, window: time.Duration(q.Window).Milliseconds(), n: v.Profiles(),
		sc: scratches.Get().(*scratch)}
	for i, s := range q.Steps {
		rows, err := v.Rows(s.Event, s.Where)
		if errors.Is(err, segment.ErrNotIndexed) {
			return nil, problem.Invalid(fmt.Sprintf("steps[%d].where", i), fmt.Sprintf("%v: the property has too many distinct values to be kept in the behaviour index (an id?); filter on another one", err))
		}
		if err != nil {
			return nil, err
		}
		sr := stepRows{rows: rows}
		if s.Channel != "" {
			sr.channels = make([]bool, 256)
			for c := range 256 {
				sr.channels[c] = channelIn(v.Channel(uint8(c)), s.Channel)
			}
		}
		f.steps = append(f.steps, sr)
	}
	if q.Order == OrderStrict {
		for _, name := range v.Names() {
			rows, _ := v.Rows(name, nil)
			o := otherRows{rows: rows}
			for i, st := range q.Steps {
				if st.Event == name {
					o.steps = append(o.steps, i)
				}
			}
			f.others = append(f.others, o)
		}
	}
	k := len(q.Steps)
	f.reached, f.channels, f.times = make([]int64, k), make([][256]int64, k), make([][]float64, k)
	return f, nil
}

// channelIn reports whether an event's channel is the one a step names
// (or one of its group's).
func channelIn(channel, want string) bool {
	if g, ok := segment.ChannelGroups[want]; ok {
		return slices.Contains(g, channel)
	}
	return channel == want
}

// inRange says whether an occurrence of a step matters: the first step of
// a sequence funnel in the entry range; everything else up to a window
// after it (a strict funnel's later first steps break chains; an any-order
// funnel's window may start with any step).
func (f *funnelScan) inRange(step int, at int64) bool {
	if step == 0 && f.q.Order == OrderSequence {
		return at >= f.from && at < f.to
	}
	return at >= f.from && at < f.to+f.window
}

// each calls fn with every occurrence of the funnel's steps (and, for a
// strict funnel, every other event of the customers who entered) whose
// profile is in [lo, hi).
func (f *funnelScan) each(lo, hi uint32, fn func(p uint32, o occ)) {
	for i, s := range f.steps {
		r := s.rows
		for j := range r.Len() {
			at := r.At(j)
			if !f.inRange(i, at) || !r.Match(j) {
				continue
			}
			ch := r.ChannelCode(j)
			if s.channels != nil && !s.channels[ch] {
				continue
			}
			if p := r.Profile(j); p >= lo && p < hi {
				fn(p, occ{at: at, step: int8(i), ch: ch})
			}
		}
	}
	for _, o := range f.others {
		r := o.rows
	rows:
		for j := range r.Len() {
			at := r.At(j)
			if at < f.from || at >= f.to+f.window || !r.Match(j) {
				continue
			}
			p := r.Profile(j)
			if p < lo || p >= hi || int(p) >= len(f.first) || !f.first[p] {
				continue
			}
			for _, i := range o.steps {
				if f.isStep(i, j) {
					continue rows // counted as that step
				}
			}
			fn(p, occ{at: at, step: -1, ch: r.ChannelCode(j)})
		}
	}
}

// isStep reports whether row j of the step's event is an occurrence of
// the step (its filters and channel).
func (f *funnelScan) isStep(i, j int) bool {
	s := f.steps[i]
	return s.rows.Match(j) && (s.channels == nil || s.channels[s.rows.ChannelCode(j)])
}

// scratch holds a funnel's big arrays: over a million customers they
// weigh a hundred megabytes, which the next funnel reuses instead of
// allocating (and the collector freeing) again.
type scratch struct {
	counts   []uint32
	off, pos []int
	buf      []occ
	first    []bool
	drop     dropped
	next     nextSeen
}

var scratches = sync.Pool{New: func() any { return new(scratch) }}

// zeroed returns s with length n, zeroed, reusing its array when it is
// large enough.
func zeroed[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// release gives the scratch arrays back (after the report is built).
func (f *funnelScan) release() {
	f.sc.counts, f.sc.first = f.counts, f.first
	scratches.Put(f.sc)
	f.sc = nil
}

func (f *funnelScan) run(ctx context.Context) error {
	f.counts = zeroed(f.sc.counts, f.n)
	if f.q.Order == OrderStrict {
		f.first = zeroed(f.sc.first, f.n)
		first := f.steps[0].rows
		for j := range first.Len() {
			if at := first.At(j); at >= f.from && at < f.to && f.isStep(0, j) {
				if p := first.Profile(j); int(p) < f.n {
					f.first[p] = true
				}
			}
		}
	}
	f.each(0, uint32(f.n), func(p uint32, _ occ) { f.counts[p]++ })
	buf := f.sc.buf
	defer func() { f.sc.buf = buf }()
	for lo := 0; lo < f.n; {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The chunk: as many profiles as fit in chunkOccurrences.
		hi, total := lo, 0
		for hi < f.n && (hi == lo || total+int(f.counts[hi]) <= chunkOccurrences) {
			total += int(f.counts[hi])
			hi++
		}
		if total == 0 {
			lo = hi
			continue
		}
		off := zeroed(f.sc.off, hi-lo+1)
		for p := lo; p < hi; p++ {
			off[p-lo+1] = off[p-lo] + int(f.counts[p])
		}
		buf = slices.Grow(buf[:0], total)[:total]
		pos := append(f.sc.pos[:0], off[:hi-lo]...)
		f.sc.off, f.sc.pos = off, pos
		f.each(uint32(lo), uint32(hi), func(p uint32, o occ) {
			i := int(p) - lo
			buf[pos[i]] = o
			pos[i]++
		})
		for p := lo; p < hi; p++ {
			if g := buf[off[p-lo]:off[p-lo+1]]; len(g) > 0 {
				sortOccs(g)
				f.walk(uint32(p), g)
			}
		}
		lo = hi
	}
	if f.drop.anyDrops {
		return f.next(ctx)
	}
	return nil
}

// sortOccs sorts a customer's occurrences by time; at the same instant,
// later steps first, so that one event matching two steps is not used for
// both.
func sortOccs(g []occ) {
	less := func(a, b occ) bool { return a.at < b.at || a.at == b.at && a.step > b.step }
	if len(g) <= 24 {
		for i := 1; i < len(g); i++ {
			for j := i; j > 0 && less(g[j], g[j-1]); j-- {
				g[j], g[j-1] = g[j-1], g[j]
			}
		}
		return
	}
	slices.SortFunc(g, func(a, b occ) int {
		switch {
		case less(a, b):
			return -1
		case less(b, a):
			return 1
		}
		return 0
	})
}
