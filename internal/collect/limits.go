package collect

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// The defaults of HandlerOptions. docs/ingestion.md lists them with their
// flags.
const (
	DefaultMaxInFlight         = 512
	DefaultMaxUnkeyed          = 64
	DefaultMaxUnkeyedPerClient = 8
	DefaultMaxBatchEvents      = 5000
	DefaultMaxMemory           = 128 << 20
	DefaultBodyTimeout         = 10 * time.Second
	DefaultUnkeyedBodyTimeout  = 2 * time.Second
	DefaultMaxWait             = 2 * time.Second
	// SaturationWindow is how long a refusal for overload keeps /readyz
	// reporting the server saturated: long enough for a probe to see it.
	SaturationWindow = 5 * time.Second
)

// eventOverhead is the memory a decoded event holds beyond its JSON, in
// bytes: the Event, its strings, the decoder's copy of its fields, and the
// garbage decoding leaves (measured: ~500 bytes live and ~2 KB allocated per
// event). The memory budget counts it per event so that a batch of 50,000
// tiny events is not taken for a small request.
const eventOverhead = 1024

// errNoMemory is returned when a request would take the memory budget over
// its limit.
var errNoMemory = errors.New("collect: memory budget exhausted")

// budget bounds the memory held by the requests in flight.
type budget struct {
	max  int64
	used atomic.Int64
}

// lease is one request's share of a budget.
type lease struct {
	b    *budget
	held int64
	done func() // called on release: the body's buffer goes back to its pool
}

// grow takes n more bytes, or none and errNoMemory if that would cross the
// limit. A request alone is always let through when nothing else is held,
// as a request larger than the budget could never be served otherwise.
func (l *lease) grow(n int64) error {
	if n <= 0 {
		return nil
	}
	for {
		used := l.b.used.Load()
		if used+n > l.b.max && used > l.held {
			return errNoMemory
		}
		if l.b.used.CompareAndSwap(used, used+n) {
			l.held += n
			return nil
		}
	}
}

func (l *lease) release() {
	l.b.used.Add(-l.held)
	l.held = 0
	if l.done != nil {
		l.done()
		l.done = nil
	}
}

// pool is a counting semaphore that never blocks: a request that finds it
// full is refused at once, so that waiting never piles up.
type pool struct {
	max   int64
	inUse atomic.Int64
}

func (p *pool) tryAcquire() bool {
	if p.inUse.Add(1) > p.max {
		p.inUse.Add(-1)
		return false
	}
	return true
}

func (p *pool) release() { p.inUse.Add(-1) }

// perClient counts the requests in flight per client address, so that one
// address cannot take a whole pool.
type perClient struct {
	max int
	mu  sync.Mutex
	n   map[string]int
}

func (c *perClient) tryAcquire(addr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[addr] >= c.max {
		return false
	}
	c.n[addr]++
	return true
}

func (c *perClient) release(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[addr] <= 1 {
		delete(c.n, addr)
		return
	}
	c.n[addr]--
}

// Saturation is the state of the handler's limits, for /readyz and metrics.
type Saturation struct {
	// Saturated is true while the handler refuses keyed work for overload,
	// or has refused some within the last SaturationWindow.
	Saturated bool   `json:"saturated"`
	Reason    string `json:"reason,omitempty"`
	// InFlight and MaxInFlight: requests with a valid write key.
	InFlight    int64 `json:"in_flight"`
	MaxInFlight int64 `json:"max_in_flight"`
	// Unkeyed and MaxUnkeyed: requests without an Authorization header,
	// reading their body to find its writeKey. A full unkeyed pool does
	// not make the server saturated: keyed clients are still served.
	Unkeyed    int64 `json:"unkeyed"`
	MaxUnkeyed int64 `json:"max_unkeyed"`
	// MemoryBytes and MaxMemory: the decoded size of the requests in flight.
	MemoryBytes int64 `json:"memory_bytes"`
	MaxMemory   int64 `json:"max_memory"`
	// LastRefusal is when keyed work was last refused for overload.
	LastRefusal time.Time `json:"last_refusal,omitzero"`
}

// Refusal reasons, the label of parcours_ingest_refused_total.
const (
	refusedInFlight  = "in_flight"
	refusedUnkeyed   = "unkeyed"
	refusedClient    = "unkeyed_per_client"
	refusedMemory    = "memory"
	refusedQueue     = "queue"
	refusedSlowBody  = "body_timeout"
	refusedBatchSize = "too_many_events"
	refusedLookups   = "key_lookups"
)

// Saturation returns the state of the handler's limits.
func (h *Handler) Saturation() Saturation {
	s := Saturation{
		InFlight: h.keyed.inUse.Load(), MaxInFlight: h.keyed.max,
		Unkeyed: h.unkeyed.inUse.Load(), MaxUnkeyed: h.unkeyed.max,
		MemoryBytes: h.mem.used.Load(), MaxMemory: h.mem.max,
	}
	if last := h.lastRefusal.Load(); last != 0 {
		s.LastRefusal = time.Unix(0, last).UTC()
	}
	switch {
	case s.InFlight >= s.MaxInFlight:
		s.Saturated, s.Reason = true, "every request slot is taken"
	case s.MemoryBytes >= s.MaxMemory*9/10:
		s.Saturated, s.Reason = true, "the memory budget of requests in flight is nearly spent"
	case !s.LastRefusal.IsZero() && h.clock.Now().Sub(s.LastRefusal) < SaturationWindow:
		s.Saturated, s.Reason = true, "requests were refused for overload in the last "+SaturationWindow.String()
	}
	return s
}

// refused records a refusal for overload.
func (h *Handler) refused(reason string, keyed bool) {
	if h.metrics != nil {
		h.metrics.refused.WithLabelValues(reason).Inc()
	}
	if keyed {
		h.lastRefusal.Store(h.clock.Now().UnixNano())
	}
}
