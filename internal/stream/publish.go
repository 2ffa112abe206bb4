package stream

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/event"
)

// Publisher is the collect.Sink of a node whose event log is the stream:
// Submit returns once JetStream has acknowledged every event, so that the
// tracking API's 200 means "stored in the stream, with its replication".
type Publisher struct {
	s          *Stream
	published  prometheus.Counter
	duplicates prometheus.Counter
	bp         *backpressure
}

// MsgID is the JetStream message id of an event: its source and its
// messageId, the same key the event log deduplicates on, so that a client
// resending to any node within the dedup window stores nothing twice.
func MsgID(e *event.Event) string { return e.SourceID + "/" + e.MessageID }

// Publisher returns the stream's publisher; reg (optional) gets its
// counters.
func (s *Stream) Publisher(reg prometheus.Registerer) *Publisher {
	p := &Publisher{
		s: s,
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parcours_stream_published_total", Help: "Events stored in the JetStream stream by this node."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parcours_stream_duplicates_total", Help: "Events JetStream dropped as repeats of a Nats-Msg-Id within its dedup window."}),
	}
	if reg != nil {
		reg.MustRegister(p.published, p.duplicates)
	}
	p.bp = newBackpressure(reg)
	return p
}

// Submit publishes events (one message each, with MsgID) and rejects (one
// message for all) and waits for JetStream's acknowledgements. On return
// each event's Seq is its stream sequence, or 0 if JetStream dropped it as
// a repeat. On error some events may be stored: the client resends, and
// the message ids drop what was.
//
// While the relay is behind by more than its bound (WatchLag), Submit
// publishes nothing and returns ErrBehind (a collect.ErrOverloaded).
func (p *Publisher) Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error {
	if err := p.bp.check(); err != nil {
		return err
	}
	futures := make([]jetstream.PubAckFuture, 0, len(events)+1)
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("stream: encode event %s: %w", e.MessageID, err)
		}
		m := nats.NewMsg(p.s.eventSubject())
		m.Data = data
		m.Header.Set(jetstream.MsgIDHeader, MsgID(e))
		f, err := p.s.js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("stream: publish event %s to %s: %w", e.MessageID, p.s.opts.Name, err)
		}
		futures = append(futures, f)
	}
	if len(rejects) > 0 {
		data, err := json.Marshal(rejects)
		if err != nil {
			return fmt.Errorf("stream: encode %d rejections: %w", len(rejects), err)
		}
		f, err := p.s.js.PublishAsync(p.s.rejectionSubject(), data)
		if err != nil {
			return fmt.Errorf("stream: publish rejections to %s: %w", p.s.opts.Name, err)
		}
		futures = append(futures, f)
	}
	dups := 0
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if i < len(events) {
				if ack.Duplicate {
					events[i].Seq = 0
					dups++
				} else {
					events[i].Seq = int64(ack.Sequence)
				}
			}
		case err := <-f.Err():
			return fmt.Errorf("stream: JetStream did not acknowledge event %d of %d: %w", i+1, len(futures), err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.published.Add(float64(len(events) - dups))
	p.duplicates.Add(float64(dups))
	return nil
}
