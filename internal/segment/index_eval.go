package segment

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// errNotIndexed says a condition cannot be answered from the index (it
// reads traits, consent, context, or a property that is not indexed).
var errNotIndexed = errors.New("segment: condition not answerable from the behaviour index")

// indexable reports whether every condition of the set's segments can be
// answered from the index: behaviour and membership of such segments,
// combined with all, any and not.
func (s *Set) indexable() bool {
	for _, c := range s.segs {
		ok := true
		c.def.Where.walk(func(x *Condition) {
			switch {
			case x.All != nil, x.Any != nil, x.Not != nil, x.Performed != nil, x.Member != "":
			default:
				ok = false
			}
		})
		if !ok {
			return false
		}
	}
	return true
}

// members evaluates the set's segments over every live profile of the
// index at now, and returns each segment's members.
func (x *Index) members(set *Set, now time.Time) (map[string]bitset, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	q := x.query(now)
	for _, c := range set.segs { // dependencies first
		b, err := q.cond(&c.def.Where)
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w", c.def.ID, err)
		}
		q.done[c.def.ID] = b
	}
	return q.done, nil
}

// behaviour answers every performed condition of set's segments at now:
// for each, the profiles for which it holds, among known, the profiles
// the index has seen. An error says one cannot be answered.
func (x *Index) behaviour(set *Set, now time.Time) (map[*Behaviour]bitset, bitset, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	q := x.query(now)
	out := map[*Behaviour]bitset{}
	for _, c := range set.segs {
		var err error
		c.def.Where.walk(func(w *Condition) {
			if w.Performed == nil || err != nil {
				return
			}
			var b bitset
			if b, err = q.performed(w.Performed); err == nil {
				out[w.Performed] = b
			}
		})
		if err != nil {
			return nil, nil, fmt.Errorf("segment %s: %w", c.def.ID, err)
		}
	}
	return out, q.universe, nil
}

// query starts a query at now over the live profiles. Called with x.mu
// held.
func (x *Index) query(now time.Time) *indexQuery {
	q := &indexQuery{x: x, now: now.UnixMilli(), canon: x.canonTable(), done: map[string]bitset{}}
	q.universe = slices.Clone(x.seen)
	for merged := range x.alias {
		if int(merged>>6) < len(q.universe) {
			q.universe[merged>>6] &^= 1 << (merged & 63)
		}
	}
	return q
}

type indexQuery struct {
	x        *Index
	now      int64
	canon    []uint32 // nil: no merges
	universe bitset
	done     map[string]bitset
}

func (q *indexQuery) cond(c *Condition) (bitset, error) {
	switch {
	case c.All != nil:
		out := slices.Clone(q.universe)
		for i := range c.All {
			b, err := q.cond(&c.All[i])
			if err != nil {
				return nil, err
			}
			out.and(b)
		}
		return out, nil
	case c.Any != nil:
		out := make(bitset, len(q.universe))
		for i := range c.Any {
			b, err := q.cond(&c.Any[i])
			if err != nil {
				return nil, err
			}
			out.or(b)
		}
		return out, nil
	case c.Not != nil:
		b, err := q.cond(c.Not)
		if err != nil {
			return nil, err
		}
		out := slices.Clone(q.universe)
		out.andNot(b)
		return out, nil
	case c.Performed != nil:
		return q.performed(c.Performed)
	case c.Member != "":
		b, ok := q.done[c.Member]
		if !ok {
			return nil, fmt.Errorf("member %q: %w", c.Member, errNotIndexed)
		}
		return b, nil
	}
	return nil, errNotIndexed
}

// filter is one property filter of a behaviour, as the dictionary ids it
// accepts.
type filter struct {
	col *column
	ok  []bool
}

// filters turns property filters into the dictionary ids each accepts;
// none says that no row can match (a key no row has, with a value absence
// does not match).
func (p *part) filters(event string, where map[string]any) (out []filter, none bool, err error) {
	for key, want := range where {
		if p.dropped[key] {
			return nil, false, fmt.Errorf("%s.%s: %w", event, key, errNotIndexed)
		}
		c := p.cols[key]
		if c == nil {
			if matches(map[string]any{}, map[string]any{key: want}) {
				continue // absent matches (not with any value a definition can hold)
			}
			return nil, true, nil
		}
		f := filter{col: c, ok: make([]bool, len(c.dict))}
		for id, v := range c.dict {
			f.ok[id] = matches(map[string]any{key: v}, map[string]any{key: want})
		}
		out = append(out, f)
	}
	return out, false, nil
}

// pass reports whether row r passes the filters.
func pass(filters []filter, r int) bool {
	for _, f := range filters {
		v := uint32(0)
		if i := r - f.col.start; i >= 0 {
			v = f.col.ids[i]
		}
		if !f.ok[v] {
			return false
		}
	}
	return true
}

// performed counts, per profile, the rows of b's event that pass its
// filters inside its window (and sums its property), and returns the
// profiles whose count and sum are in bounds, as evaluation.performed
// does for one profile.
func (q *indexQuery) performed(b *Behaviour) (bitset, error) {
	p := q.x.parts[b.Event]
	n := q.universe.len()
	counts := make([]uint32, n)
	var sums []float64
	if p != nil {
		filters, none, err := p.filters(b.Event, b.Where)
		if err != nil {
			return nil, err
		}
		if none {
			p = nil // no row can match
		}
		var sum []float64 // the summed property's value per dictionary id
		var sumCol *column
		if b.Sum != nil && p != nil {
			if p.dropped[b.Sum.Property] {
				return nil, fmt.Errorf("%s.%s: %w", b.Event, b.Sum.Property, errNotIndexed)
			}
			sums = make([]float64, n)
			if sumCol = p.cols[b.Sum.Property]; sumCol != nil {
				sum = make([]float64, len(sumCol.dict))
				for id, v := range sumCol.dict {
					sum[id], _ = number(v)
				}
			}
		}
		if p != nil {
			from := int64(-1 << 63)
			if b.Within != nil {
				from = q.now - time.Duration(*b.Within).Milliseconds()
			}
			q.scan(p, from, filters, counts, sums, sumCol, sum)
		}
	}
	count := Range{Gte: ptr(1.0)}
	if b.Count != nil {
		count = *b.Count
	}
	out := make(bitset, len(q.universe))
	q.universe.each(func(id uint32) bool {
		ok := count.test(float64(counts[id]))
		if ok && b.Sum != nil {
			var total float64
			if sums != nil {
				total = sums[id]
			}
			ok = b.Sum.Range.test(total)
		}
		if ok {
			out[id>>6] |= 1 << (id & 63)
		}
		return true
	})
	return out, nil
}

// scan adds up the rows of p in [from, now] that pass the filters.
func (q *indexQuery) scan(p *part, from int64, filters []filter, counts []uint32, sums []float64, sumCol *column, sum []float64) {
	now := q.now
rows:
	for r, at := range p.at {
		if at < from || at > now {
			continue
		}
		id := p.prof[r]
		if id == 0 {
			continue
		}
		for _, f := range filters {
			v := uint32(0)
			if i := r - f.col.start; i >= 0 {
				v = f.col.ids[i]
			}
			if !f.ok[v] {
				continue rows
			}
		}
		if q.canon != nil && int(id) < len(q.canon) {
			id = q.canon[id]
		}
		if int(id) >= len(counts) {
			continue
		}
		counts[id]++
		if sums != nil && sumCol != nil {
			if i := r - sumCol.start; i >= 0 {
				sums[id] += sum[sumCol.ids[i]]
			}
		}
	}
}
