package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/store"
)

// RelayCheckpoint is the checkpoint of the relay: the last stream sequence
// copied into the event log.
const RelayCheckpoint = "stream-relay"

// RelayLease is the lease the relay runs under.
const RelayLease = "relay"

// relayBatch is the most messages one append takes (the committer's
// default commit size).
const relayBatch = 5000

// Relay copies the stream into the event log, in stream order: each batch
// is appended through sink (the node's group committer, whose append drops
// any (source, messageId) already in the log), then its last stream
// sequence is saved as RelayCheckpoint. A crash between the two copies the
// batch again, and the append drops every event of it: the log holds each
// event once.
type Relay struct {
	s    *Stream
	sink collect.Sink
	cp   store.Checkpoints

	relayed prometheus.Counter
	lost    prometheus.Counter
	lag     prometheus.Gauge
	owner   prometheus.Gauge

	next uint64 // the stream sequence the next message should have
}

// Relay returns the relay of the stream into sink, checkpointed in cp;
// reg (optional) gets its metrics.
func (s *Stream) Relay(sink collect.Sink, cp store.Checkpoints, reg prometheus.Registerer) *Relay {
	r := &Relay{s: s, sink: sink, cp: cp,
		relayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parcours_stream_relayed_total", Help: "Stream messages this node copied into the event log."}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parcours_stream_relay_lag", Help: "Stream messages not yet copied into the event log, as the relay last saw it (on the node running it)."}),
		owner: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parcours_stream_relay_owner", Help: "1 while this node holds the relay's lease and runs it."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parcours_stream_relay_lost_total", Help: "Stream messages the relay found gone (dropped by the stream's retention or a purge) before it copied them: events lost. Should stay 0."}),
	}
	if reg != nil {
		reg.MustRegister(r.relayed, r.lag, r.owner, r.lost)
	}
	return r
}

// RunOwned runs the relay on whichever live node holds RelayLease, until
// ctx ends: this node waits for the lease, relays while it holds it, and
// stops at once when it loses it.
func (r *Relay) RunOwned(ctx context.Context) {
	r.s.Hold(ctx, RelayLease, r.RunUntil)
	r.s.Release(RelayLease)
}

// RunUntil relays until ctx ends, starting again from the checkpoint after
// a failure. The caller holds the lease that makes this node the one
// relaying.
func (r *Relay) RunUntil(ctx context.Context) {
	r.owner.Set(1)
	defer r.owner.Set(0)
	for ctx.Err() == nil {
		err := r.Run(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		r.s.log.Error("relay stopped; restarting from its checkpoint in 1 second", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Run relays from the checkpoint until ctx ends (nil) or a failure.
func (r *Relay) Run(ctx context.Context) error {
	last, err := r.cp.Checkpoint(ctx, RelayCheckpoint)
	if err != nil {
		return fmt.Errorf("relay: read checkpoint: %w", err)
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if last > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: uint64(last) + 1}
	}
	r.next = uint64(last) + 1
	cons, err := r.s.js.OrderedConsumer(ctx, r.s.opts.Name, cfg)
	if err != nil {
		return fmt.Errorf("relay: ordered consumer on %s from %d: %w", r.s.opts.Name, last+1, err)
	}
	run, stop := context.WithCancel(ctx)
	defer stop()
	msgs := make(chan jetstream.Msg, 2*relayBatch)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-run.Done():
		}
	}, jetstream.PullMaxMessages(relayBatch), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		r.s.log.Warn("relay: consumer", "err", err)
	}))
	if err != nil {
		return fmt.Errorf("relay: consume %s: %w", r.s.opts.Name, err)
	}
	defer cc.Stop()
	var batch []jetstream.Msg
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return nil
		case <-cc.Closed():
			return fmt.Errorf("relay: the consumer of %s stopped", r.s.opts.Name)
		case m := <-msgs:
			batch = append(batch, m)
		}
	drain:
		for len(batch) < relayBatch {
			select {
			case m := <-msgs:
				batch = append(batch, m)
			default:
				break drain
			}
		}
		if err := r.commit(ctx, batch); err != nil {
			return err
		}
	}
}

// commit appends one batch of messages and saves the checkpoint after it.
func (r *Relay) commit(ctx context.Context, batch []jetstream.Msg) error {
	var events []*event.Event
	var rejects []*event.Rejection
	var seq uint64
	var pending uint64
	for _, m := range batch {
		meta, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("relay: message metadata: %w", err)
		}
		seq, pending = meta.Sequence.Stream, meta.NumPending
		if seq > r.next {
			// Sequences have no holes but the messages removed: these
			// were dropped before the relay copied them. Loud, since
			// acknowledged events are gone (docs/scale.md, Back-pressure).
			r.s.log.Error("relay: stream messages gone before they were relayed (the stream's retention or a purge)", "from", r.next, "to", seq-1, "lost", seq-r.next)
			r.lost.Add(float64(seq - r.next))
		}
		r.next = seq + 1
		switch m.Subject() {
		case r.s.eventSubject():
			e := new(event.Event)
			if err := json.Unmarshal(m.Data(), e); err != nil {
				// Only Publisher writes here: a message that does not
				// decode is not ours, and must not stop the log.
				r.s.log.Error("relay: skipping a message that is not an event", "stream_seq", seq, "err", err)
				continue
			}
			e.Seq = 0
			events = append(events, e)
		case r.s.rejectionSubject():
			var rs []*event.Rejection
			if err := json.Unmarshal(m.Data(), &rs); err != nil {
				r.s.log.Error("relay: skipping a message that is not a list of rejections", "stream_seq", seq, "err", err)
				continue
			}
			rejects = append(rejects, rs...)
		}
	}
	if err := r.sink.Submit(ctx, events, rejects); err != nil {
		return fmt.Errorf("relay: append %d events up to stream sequence %d: %w", len(events), seq, err)
	}
	if err := r.cp.SaveCheckpoint(ctx, RelayCheckpoint, int64(seq)); err != nil {
		return fmt.Errorf("relay: save checkpoint %d: %w", seq, err)
	}
	r.relayed.Add(float64(len(batch)))
	r.lag.Set(float64(pending))
	return nil
}
