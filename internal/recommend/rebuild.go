package recommend

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// NamedReader is a log that returns only the events of some names, as
// their stored JSON (both stores implement it): a rebuild lets the
// database skip the events the model does not read, and decodes only the
// fields it needs of the rest.
type NamedReader interface {
	ReadNamedAfter(ctx context.Context, after int64, limit int, names []string) ([]store.RawEvent, error)
}

// learnedNames are the events a rebuild reads: those Learns, and the
// saved definitions.
var learnedNames = []string{EventProductViewed, EventProductAdded, EventOrderCompleted, EventOrderRefunded,
	EventOrderReturned, EventProductReturn, EventRecommendationSaved}

// slim is what the model reads of a stored event: its properties are
// decoded straight into props; context, traits, integrations and the
// rest are skipped.
type slim struct {
	Type        event.Type `json:"type"`
	Event       string     `json:"event"`
	UserID      string     `json:"userId"`
	AnonymousID string     `json:"anonymousId"`
	Channel     string     `json:"channel"`
	StoreID     string     `json:"storeId"`
	Timestamp   time.Time  `json:"timestamp"`
	Properties  props      `json:"properties"`
}

// decoded is one stored event ready to learn (p nil: skip it).
type decoded struct {
	e event.Event
	p *props
}

// rebuildBatch is how many events a rebuild reads at a time.
const rebuildBatch = 10_000

// decodeRaw decodes a batch of stored events on every core; the order of
// the batch is kept.
func decodeRaw(raw []store.RawEvent) []decoded {
	out := make([]decoded, len(raw))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(raw)/500))
	var wg sync.WaitGroup
	chunk := (len(raw) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min(len(raw), (w+1)*chunk)
		if lo >= hi {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := lo; k < hi; k++ {
				decodeOne(raw[k], &out[k])
			}
		}()
	}
	wg.Wait()
	return out
}

func decodeOne(r store.RawEvent, d *decoded) {
	var s slim
	if scanSlim(r.Body, &s) != nil && json.Unmarshal(r.Body, &s) != nil {
		// A body the slim shape cannot read (properties not an object):
		// learned as the stage would, from the full event, or skipped.
		var e event.Event
		if event.Unmarshal(r.Body, &e) != nil {
			d.e.Seq = r.Seq
			return
		}
		d.e = e
		d.e.Seq = r.Seq
		var p props
		if e.Type == event.Track && Learns(e.Event) && (len(e.Properties) == 0 || json.Unmarshal(e.Properties, &p) == nil) {
			d.p = &p
		}
		return
	}
	d.e = event.Event{Seq: r.Seq, Type: s.Type, Event: s.Event, UserID: s.UserID, AnonymousID: s.AnonymousID,
		Channel: s.Channel, StoreID: s.StoreID, Timestamp: s.Timestamp}
	if s.Event == EventRecommendationSaved {
		// Rare: the definition needs the raw properties.
		var e event.Event
		if event.Unmarshal(r.Body, &e) == nil {
			d.e.Properties = e.Properties
		}
		return
	}
	if s.Type == event.Track && Learns(s.Event) {
		p := s.Properties
		d.p = &p
	}
}

// learnDecoded learns a decoded batch, in order.
func (m *Model) learnDecoded(batch []decoded) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range batch {
		d := &batch[k]
		m.last = max(m.last, d.e.Seq)
		if d.e.Event == EventRecommendationSaved && d.e.Channel == profile.InternalChannel {
			m.saved(&d.e)
			continue
		}
		if d.p != nil {
			m.learn(&d.e, d.p)
		}
	}
}

// CatchUp learns the log after the model's last event up to its end, the
// fast way when the log is a NamedReader: the store skips the events the
// model does not read, a reader fetches the next batch while the current
// one is decoded on every core and the previous one is learned (learning
// keeps the log's order: sessions depend on it). Without a NamedReader
// it reads the log batch by batch. progress, if set, is called with the
// last seq learned after each batch. It returns the number of events
// read.
func (m *Model) CatchUp(ctx context.Context, log eventlog.Reader, progress func(seq int64)) (int64, error) {
	nr, ok := log.(NamedReader)
	if !ok {
		return m.catchUpSlow(ctx, log, progress)
	}
	type result struct {
		batch []decoded
		err   error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	raws := make(chan []store.RawEvent, 2)
	decs := make(chan result, 2)
	after := m.Stats().LastSeq
	go func() { // reader
		defer close(raws)
		for {
			raw, err := nr.ReadNamedAfter(ctx, after, rebuildBatch, learnedNames)
			if err != nil {
				decs <- result{err: fmt.Errorf("recommend: read the log after %d: %w", after, err)}
				return
			}
			if len(raw) == 0 {
				return
			}
			after = raw[len(raw)-1].Seq
			select {
			case raws <- raw:
			case <-ctx.Done():
				return
			}
			if len(raw) < rebuildBatch {
				return
			}
		}
	}()
	go func() { // decoder
		defer close(decs)
		for raw := range raws {
			select {
			case decs <- result{batch: decodeRaw(raw)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var n int64
	for r := range decs {
		if r.err != nil {
			return n, r.err
		}
		m.learnDecoded(r.batch)
		n += int64(len(r.batch))
		if progress != nil {
			progress(r.batch[len(r.batch)-1].e.Seq)
		}
	}
	return n, ctx.Err()
}

func (m *Model) catchUpSlow(ctx context.Context, log eventlog.Reader, progress func(seq int64)) (int64, error) {
	after := m.Stats().LastSeq
	var n int64
	for {
		batch, err := log.ReadAfter(ctx, after, 5000)
		if err != nil {
			return n, fmt.Errorf("recommend: read the log after %d: %w", after, err)
		}
		if len(batch) == 0 {
			return n, nil
		}
		m.LearnBatch(batch)
		n += int64(len(batch))
		after = batch[len(batch)-1].Seq
		if progress != nil {
			progress(after)
		}
	}
}
