package segment

import (
	"encoding/json"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
)

// Index is the behaviour index: every customer track event the segment
// stage has seen, kept as columns per event name (profile, event time, and
// each scalar property dictionary-encoded), so that a behavioural
// condition over every profile is a scan of a few integer arrays instead
// of a read and a JSON decode of every event. Previews of behavioural
// segments read it; live membership does not need it.
//
// Profiles merged away keep their rows: the index maps them to the
// profile they were merged into when it scans. An unmerge rebuilds the
// rows of the profiles it splits from their timelines.
//
// The index lives in memory and, when it has a path, in an append-only
// file of checksummed records written every few seconds; what a crash
// loses from its tail is read again from the event log.
type Index struct {
	// flushMu is held by a flush from start to end; mu only while it
	// takes what to write (and by reassign, which changes rows in place,
	// after flushMu).
	flushMu sync.Mutex
	mu      sync.RWMutex
	parts   map[string]*part
	seen    bitset            // profiles seen in any event
	alias   map[uint32]uint32 // merged profile -> the profile it was merged into
	upto    int64             // the last seq indexed
	ready   bool              // caught up with the stage: new batches go in
	rows    int64
	// chans names the channel codes rows carry (code 0: unknown); past
	// 255 channels the rest are unknown.
	chans    []string
	chanCode map[string]uint8

	file *indexFile // nil: memory only
	// Since the last record written.
	newSeen  []uint32
	newAlias [][2]uint32
	dirty    bool // rows were changed in place: the next flush rewrites all
}

// part is the rows of one event name.
type part struct {
	prof []uint32 // 0: a row removed by an unmerge
	at   []int64  // event time, unix milliseconds
	ch   []uint8  // the event's channel (Index.chans)
	cols map[string]*column
	// dropped keys had too many distinct values (or the part too many
	// keys): conditions on them cannot be answered from the index.
	dropped map[string]bool
	flushed int // rows already written to the file
}

// column is one property key of a part: a dictionary id per row from
// start on (rows before start do not have the key).
type column struct {
	start   int
	ids     []uint32
	dict    []any // dict[0] is nil: the key is absent
	lookup  map[string]uint32
	flushed int // ids already written
	fdict   int // dictionary entries already written
}

// Bounds that keep the index small whatever the events carry: a property
// with more distinct values than maxDict (order ids, free text) and the
// keys past maxKeys of an event name are not indexed; conditions on them
// are answered from the timelines.
const (
	maxDict  = 1 << 18
	maxKeys  = 48
	maxDepth = 3
)

// NewIndex returns an empty index kept in memory only.
func NewIndex() *Index {
	return &Index{parts: map[string]*part{}, alias: map[uint32]uint32{}, chans: []string{""}, chanCode: map[string]uint8{"": 0}}
}

// chanOf returns the code of a channel. Called with x.mu held.
func (x *Index) chanOf(channel string) uint8 {
	if c, ok := x.chanCode[channel]; ok {
		return c
	}
	if len(x.chans) > 255 {
		return 0
	}
	c := uint8(len(x.chans))
	x.chans = append(x.chans, channel)
	x.chanCode[channel] = c
	return c
}

// Ready reports whether the index has caught up with the segment stage,
// so that queries over it see every event the stage has seen.
func (x *Index) Ready() bool {
	if x == nil {
		return false
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ready
}

// Upto returns the seq of the last event indexed.
func (x *Index) Upto() int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.upto
}

// IndexStats is what the index holds.
type IndexStats struct {
	Rows     int64 `json:"rows"`
	Events   int   `json:"event_names"`
	Profiles int   `json:"profiles"`
	Upto     int64 `json:"upto"`
	Ready    bool  `json:"ready"`
}

// Stats returns the index's size.
func (x *Index) Stats() IndexStats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return IndexStats{Rows: x.rows, Events: len(x.parts), Profiles: x.seen.count() - len(x.alias), Upto: x.upto, Ready: x.ready}
}

// add indexes a batch (in log order) whose owners the stage resolved;
// merges maps the index of each Profile Merged event to (into, merged).
// Events at or before Upto are skipped: a batch seen again after a crash
// adds nothing.
func (x *Index) add(batch []*event.Event, owners []int64, merges map[int][2]int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for i, e := range batch {
		if e.Seq <= x.upto {
			continue
		}
		x.upto = e.Seq
		if m, ok := merges[i]; ok {
			x.setAlias(uint32(m[1]), uint32(m[0]))
			continue
		}
		id := owners[i]
		if id <= 0 || id > 1<<32-1 {
			continue
		}
		x.see(uint32(id))
		if e.Type != event.Track || e.Channel == profile.InternalChannel {
			continue
		}
		x.addRow(e.Event, uint32(id), e.Timestamp.UnixMilli(), e.Channel, e.Properties)
	}
}

func (x *Index) see(id uint32) {
	if !x.seen.has(id) {
		x.seen.set(id)
		x.newSeen = append(x.newSeen, id)
	}
}

func (x *Index) setAlias(merged, into uint32) {
	if merged == into || merged == 0 || into == 0 {
		return
	}
	x.see(merged)
	x.see(into)
	x.alias[merged] = into
	x.newAlias = append(x.newAlias, [2]uint32{merged, into})
}

// addRow appends one event to its part.
func (x *Index) addRow(name string, prof uint32, at int64, channel string, props json.RawMessage) {
	p := x.parts[name]
	if p == nil {
		p = &part{cols: map[string]*column{}, dropped: map[string]bool{}}
		x.parts[name] = p
	}
	row := len(p.prof)
	p.prof = append(p.prof, prof)
	p.at = append(p.at, at)
	p.ch = append(p.ch, x.chanOf(channel))
	x.rows++
	for _, c := range p.cols {
		c.ids = append(c.ids, 0)
	}
	if len(props) < 3 {
		return
	}
	var m map[string]any
	if json.Unmarshal(props, &m) != nil {
		return
	}
	flatten(m, "", 0, func(key string, v any) {
		if p.dropped[key] {
			return
		}
		canon, ok := canonical(v)
		if !ok {
			return
		}
		c := p.cols[key]
		if c == nil {
			if len(p.cols) >= maxKeys {
				p.dropped[key] = true
				return
			}
			c = &column{start: row, ids: []uint32{0}, dict: []any{nil}, lookup: map[string]uint32{}, fdict: 1}
			p.cols[key] = c
		}
		id, ok := c.lookup[canon]
		if !ok {
			if len(c.dict) >= maxDict {
				delete(p.cols, key)
				p.dropped[key] = true
				return
			}
			id = uint32(len(c.dict))
			c.dict = append(c.dict, v)
			c.lookup[canon] = id
		}
		c.ids[row-c.start] = id
	})
}

// flatten calls fn with every scalar of m under its dotted key, as lookup
// finds it: a literal key with dots wins over a nested path.
func flatten(m map[string]any, prefix string, depth int, fn func(string, any)) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && depth < maxDepth {
			flatten(sub, prefix+k+".", depth+1, func(key string, v any) {
				if depth == 0 {
					if _, literal := m[key]; literal {
						return
					}
				}
				fn(key, v)
			})
			continue
		}
		fn(prefix+k, v)
	}
}

// canonical is a dictionary key for a scalar; maps, lists and null are not
// indexed (no condition value equals them).
func canonical(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return "s" + x, true
	case float64:
		return "n" + strconv.FormatFloat(x, 'g', -1, 64), true
	case bool:
		if x {
			return "b1", true
		}
		return "b0", true
	}
	return "", false
}

func decanonical(s string) any {
	if s == "" {
		return nil
	}
	switch s[0] {
	case 's':
		return s[1:]
	case 'n':
		f, _ := strconv.ParseFloat(s[1:], 64)
		return f
	case 'b':
		return s == "b1"
	}
	return nil
}

// reassign removes the rows of the given profiles (and the merges into
// them) and adds their timelines' events again: after an unmerge moved
// events between them.
func (x *Index) reassign(ids []int64, timelines map[int64][]*event.Event) {
	x.flushMu.Lock()
	defer x.flushMu.Unlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	drop := map[uint32]bool{}
	for _, id := range ids {
		drop[uint32(id)] = true
		delete(x.alias, uint32(id))
	}
	canon := x.canon()
	for _, p := range x.parts {
		for r, id := range p.prof {
			if id != 0 && drop[canon(id)] {
				p.prof[r] = 0
				x.rows--
			}
		}
	}
	for merged, into := range x.alias {
		if drop[into] {
			delete(x.alias, merged)
		}
	}
	for _, id := range ids {
		x.see(uint32(id))
		for _, e := range timelines[id] {
			if e.Type == event.Track && e.Channel != profile.InternalChannel {
				x.addRow(e.Event, uint32(id), e.Timestamp.UnixMilli(), e.Channel, e.Properties)
			}
		}
	}
	x.dirty = true
}

// canon returns the function that maps a profile to the one it was
// (transitively) merged into. Called with x.mu held.
func (x *Index) canon() func(uint32) uint32 {
	if len(x.alias) == 0 {
		return func(id uint32) uint32 { return id }
	}
	return func(id uint32) uint32 {
		for range 64 { // merge chains are short; a cycle cannot loop forever
			into, ok := x.alias[id]
			if !ok {
				break
			}
			id = into
		}
		return id
	}
}

// canonTable is canon as a table over every profile id (for scans).
func (x *Index) canonTable() []uint32 {
	if len(x.alias) == 0 {
		return nil
	}
	c := x.canon()
	t := make([]uint32, x.seen.len())
	for i := range t {
		t[i] = uint32(i)
	}
	for merged := range x.alias {
		if int(merged) < len(t) {
			t[merged] = c(merged)
		}
	}
	return t
}

// bitset is a set of profile ids.
type bitset []uint64

func (b bitset) has(id uint32) bool {
	w := int(id >> 6)
	return w < len(b) && b[w]&(1<<(id&63)) != 0
}

func (b *bitset) set(id uint32) {
	w := int(id >> 6)
	if w >= len(*b) {
		*b = slices.Grow(*b, w+1-len(*b))[:w+1]
	}
	(*b)[w] |= 1 << (id & 63)
}

// len is one past the largest id the set can hold.
func (b bitset) len() int { return len(b) * 64 }

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

func (b bitset) and(o bitset) {
	for i := range b {
		if i < len(o) {
			b[i] &= o[i]
		} else {
			b[i] = 0
		}
	}
}

func (b bitset) or(o bitset) {
	for i := range b {
		if i < len(o) {
			b[i] |= o[i]
		}
	}
}

func (b bitset) andNot(o bitset) {
	for i := range b {
		if i < len(o) {
			b[i] &^= o[i]
		}
	}
}

// each calls fn with every id of the set, in order, until fn returns
// false.
func (b bitset) each(fn func(uint32) bool) {
	for i, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			if !fn(uint32(i*64 + t)) {
				return
			}
			w &^= 1 << t
		}
	}
}

// since is how long ago t was, for logs.
func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
