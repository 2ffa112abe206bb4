package store

import (
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/event"
)

// Tail keeps the newest events this process appended to the log, as the
// stages reading the log would decode them, so that a stage reading close
// behind ingestion (unify, segments, consent, journeys, commerce, measure:
// each a consumer of its own) gets them without a query and without a JSON
// decode: the log is read and decoded once, by nobody, instead of once per
// stage.
//
// A tail only ever answers with a contiguous run of sequence numbers it saw
// committed, so it cannot skip an event: a gap (events appended by another
// process, a sequence number lost to a rolled-back transaction, appends
// reported out of order) empties it and it starts again from the next
// append, and a read it cannot answer whole from where it is asked goes to
// the store. The events it hands out are shared by every reader: readers
// must not modify them (none does; the race detector runs over the stages'
// tests with the tail on).
//
// The tail is bounded by events and by the bytes of their JSON, so its
// memory stays small (DefaultTailEvents, DefaultTailBytes).
type Tail struct {
	mu       sync.RWMutex
	ring     []*event.Event // ring[(start+i)%len(ring)] has seq first+i
	start, n int
	first    int64 // seq of the oldest event held; valid when n > 0
	bytes    int   // JSON bytes held
	maxBytes int
	sizes    []int32 // bytes of each held event, parallel to ring

	hits, misses atomic.Int64
}

// The default bounds of a tail: enough for every stage to read a few
// seconds behind ingestion at tens of thousands of events per second.
const (
	DefaultTailEvents = 1 << 16
	DefaultTailBytes  = 32 << 20
)

// NewTail returns a tail holding at most maxEvents events and maxBytes
// bytes of their raw JSON (0: the defaults).
func NewTail(maxEvents, maxBytes int) *Tail {
	if maxEvents <= 0 {
		maxEvents = DefaultTailEvents
	}
	if maxBytes <= 0 {
		maxBytes = DefaultTailBytes
	}
	return &Tail{ring: make([]*event.Event, maxEvents), sizes: make([]int32, maxEvents), maxBytes: maxBytes}
}

// Add records events that were just committed, in the order of their
// sequence numbers; events without one (duplicates the log dropped) are
// skipped. Each is kept as a copy, equal to what decoding its stored form
// gives: the caller may reuse its events and their buffers.
func (t *Tail) Add(events []*event.Event) {
	if t == nil {
		return
	}
	// The copies are made before the lock: readers of the tail wait only
	// for the ring to move.
	copies := make([]*event.Event, 0, len(events))
	for _, e := range events {
		if e.Seq > 0 {
			copies = append(copies, Stored(e))
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range copies {
		switch last := t.first + int64(t.n) - 1; {
		case t.n == 0:
		case e.Seq == last+1:
		case e.Seq <= last:
			// Reported late: the tail moved past it already.
			continue
		default:
			// A gap: what lies in it is not here, so nothing before it may
			// be answered from here either.
			t.reset()
		}
		t.push(e)
	}
}

func (t *Tail) reset() {
	clear(t.ring)
	t.start, t.n, t.bytes = 0, 0, 0
}

func (t *Tail) push(e *event.Event) {
	size := len(e.Properties) + len(e.Traits) + len(e.Context) + len(e.Integrations) + 256
	for t.n > 0 && (t.n == len(t.ring) || t.bytes+size > t.maxBytes) {
		t.bytes -= int(t.sizes[t.start])
		t.ring[t.start] = nil
		t.start = (t.start + 1) % len(t.ring)
		t.n--
		t.first++
	}
	if t.n == 0 {
		t.first = e.Seq
	}
	i := (t.start + t.n) % len(t.ring)
	t.ring[i], t.sizes[i] = e, int32(size)
	t.n++
	t.bytes += size
}

// Read returns up to limit events after seq after, when the tail holds
// the event right after it; ok is false when the caller must read the
// store instead (the tail does not reach back that far, or holds nothing
// newer).
func (t *Tail) Read(after int64, limit int) (events []*event.Event, ok bool) {
	if t == nil || limit <= 0 {
		return nil, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.n == 0 || after+1 < t.first || after+1 > t.first+int64(t.n)-1 {
		t.misses.Add(1)
		return nil, false
	}
	from := int(after + 1 - t.first)
	k := min(limit, t.n-from)
	out := make([]*event.Event, k)
	for j := range k {
		out[j] = t.ring[(t.start+from+j)%len(t.ring)]
	}
	t.hits.Add(1)
	return out, true
}

// Stored returns a copy of e as decoding its stored form would give it:
// times in UTC without a monotonic reading, raw JSON values in buffers of
// their own. An event whose form would change in storage (strings that are
// not valid UTF-8, raw values that are not objects) is round-tripped
// through its stored form.
func Stored(e *event.Event) *event.Event {
	if !plain(e) {
		c := new(event.Event)
		if err := event.Unmarshal(e.AppendJSON(nil), c); err == nil {
			c.Seq = e.Seq
			return c
		}
	}
	c := *e
	c.Timestamp = e.Timestamp.UTC()
	c.OriginalTimestamp = e.OriginalTimestamp.UTC()
	c.SentAt = e.SentAt.UTC()
	c.ReceivedAt = e.ReceivedAt.UTC()
	n := len(e.Properties) + len(e.Traits) + len(e.Context) + len(e.Integrations)
	buf := make([]byte, 0, n)
	take := func(raw []byte) []byte {
		if len(raw) == 0 {
			return nil
		}
		buf = append(buf, raw...)
		return buf[len(buf)-len(raw) : len(buf) : len(buf)]
	}
	c.Properties = take(e.Properties)
	c.Traits = take(e.Traits)
	c.Context = take(e.Context)
	c.Integrations = take(e.Integrations)
	return &c
}

// plain says whether e's stored form decodes back to e field for field.
func plain(e *event.Event) bool {
	for _, s := range [...]string{e.MessageID, string(e.Type), e.Event, e.Name, e.Category, e.UserID, e.AnonymousID,
		e.GroupID, e.PreviousID, e.SourceID, e.Channel, e.StoreID} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	for _, raw := range [...][]byte{e.Properties, e.Traits, e.Context, e.Integrations} {
		if len(raw) > 0 && (raw[0] != '{' || raw[len(raw)-1] != '}') {
			return false
		}
	}
	return true
}

// Tailed is an engine that can keep a tail of what it appends and answer
// ReadAfter from it (both engines are).
type Tailed interface {
	UseTail(t *Tail)
}

// TailStats are a tail's counters.
type TailStats struct {
	Hits, Misses int64 // reads answered from the tail, and sent to the store
	Events       int   // events held
	Bytes        int   // their JSON bytes, estimated
}

// Stats returns the tail's counters.
func (t *Tail) Stats() TailStats {
	if t == nil {
		return TailStats{}
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return TailStats{Hits: t.hits.Load(), Misses: t.misses.Load(), Events: t.n, Bytes: t.bytes}
}

// Clear empties the tail: events in the log were rewritten or deleted
// (erasure, retention), and the stages must read them from the store.
func (t *Tail) Clear() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reset()
}
