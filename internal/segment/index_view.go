package segment

import (
	"slices"

	"github.com/parcours/parcours/internal/event"
)

// ErrNotIndexed says a filter names a property the behaviour index does
// not keep (too many distinct values, or too many keys): a report must
// read the events themselves.
var ErrNotIndexed = errNotIndexed

// IndexView is a read-only view of the behaviour index for reports that
// scan customers' events (measure's funnels) without reading the log: per
// event name, each row's profile (the one it was merged into, if any),
// time and channel. It is valid only inside the function given to View.
type IndexView struct {
	x     *Index
	canon []uint32
}

// View calls fn with a view of the index, under its read lock: batches
// wait until fn returns, so fn should scan, not dawdle.
func (x *Index) View(fn func(v *IndexView) error) error {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return fn(&IndexView{x: x, canon: x.canonTable()})
}

// Upto returns the seq of the last event indexed.
func (v *IndexView) Upto() int64 { return v.x.upto }

// Profiles is one past the largest profile id of the index.
func (v *IndexView) Profiles() int { return v.x.seen.len() }

// Names lists the event names that have rows, sorted.
func (v *IndexView) Names() []string {
	out := make([]string, 0, len(v.x.parts))
	for n := range v.x.parts {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Channel names a channel code (rows indexed before channels were kept:
// "").
func (v *IndexView) Channel(code uint8) string {
	if int(code) < len(v.x.chans) {
		return v.x.chans[code]
	}
	return ""
}

// Rows returns the rows of an event name whose properties hold where (as
// a performed condition filters them); ErrNotIndexed if a filter names a
// property the index does not keep. An event with no rows has none.
func (v *IndexView) Rows(name string, where map[string]any) (*IndexRows, error) {
	p := v.x.parts[name]
	if p == nil {
		return &IndexRows{}, nil
	}
	filters, none, err := p.filters(name, where)
	if err != nil {
		return nil, err
	}
	if none {
		return &IndexRows{}, nil
	}
	return &IndexRows{p: p, filters: filters, canon: v.canon}, nil
}

// IndexRows are the rows of one event name, in the order they were
// indexed (the log's).
type IndexRows struct {
	p       *part
	filters []filter
	canon   []uint32
}

// Len is the number of rows, matching or not.
func (r *IndexRows) Len() int {
	if r.p == nil {
		return 0
	}
	return len(r.p.prof)
}

// At is row i's event time in Unix milliseconds.
func (r *IndexRows) At(i int) int64 { return r.p.at[i] }

// Match reports whether row i is live (not removed by an unmerge) and
// passes the filters.
func (r *IndexRows) Match(i int) bool {
	return r.p.prof[i] != 0 && (len(r.filters) == 0 || pass(r.filters, i))
}

// Profile is row i's profile: the one it was merged into, if any.
func (r *IndexRows) Profile(i int) uint32 {
	id := r.p.prof[i]
	if r.canon != nil && int(id) < len(r.canon) {
		return r.canon[id]
	}
	return id
}

// ChannelCode is row i's channel (IndexView.Channel names it).
func (r *IndexRows) ChannelCode(i int) uint8 { return r.p.ch[i] }

// Add indexes a batch of the log whose owners are resolved (unify.Owners:
// each event's profile, and the merges). The segment stage adds its own
// batches; tools and tests that build an index without the stage call
// this. Events at or before Upto are skipped.
func (x *Index) Add(batch []*event.Event, owners []int64, merges map[int][2]int64) {
	x.add(batch, owners, merges)
}

// MarkReady says the index holds every event its reader needs (the stage
// does it once caught up; tools that build an index themselves call it).
func (x *Index) MarkReady() {
	x.mu.Lock()
	x.ready = true
	x.mu.Unlock()
}
