package stream

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/store"
)

// Back-pressure on the relay's lag (docs/scale.md, Back-pressure): every
// node watches how far the relay is behind the stream, and its Publisher
// refuses new events (collect.ErrOverloaded: 503 with Retry-After) while
// the relay is more than MaxLag messages behind, or its oldest message not
// yet relayed is older than half the stream's retention. JetStream drops
// what is older than the retention: refusing well before keeps any
// acknowledged event from being dropped unrelayed, and a client told 503
// resends later.

// DefaultMaxLag is the default bound on the relay's lag, in stream
// messages (about 10 minutes of 1,500 events/s).
const DefaultMaxLag = 1_000_000

// lagEvery is how often a node reads the relay's lag.
const lagEvery = time.Second

// ErrBehind is the error of a submission refused because the relay is too
// far behind; it wraps collect.ErrOverloaded.
var ErrBehind = fmt.Errorf("%w: the relay is too far behind the stream", collect.ErrOverloaded)

// backpressure is what WatchLag last saw.
type backpressure struct {
	refusing atomic.Bool
	why      atomic.Value // string
	lag      prometheus.Gauge
	age      prometheus.Gauge
	on       prometheus.Gauge
	refused  prometheus.Counter
}

func newBackpressure(reg prometheus.Registerer) *backpressure {
	b := &backpressure{
		lag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parcours_stream_lag",
			Help: "Stream messages not yet in the event log, as this node read it last (stream last sequence - relay checkpoint)."}),
		age: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parcours_stream_lag_seconds",
			Help: "Age of the oldest stream message not yet in the event log; 0 when the relay is caught up."}),
		on: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parcours_stream_backpressure",
			Help: "1 while this node refuses events (503) because the relay is behind by more than its bound."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "parcours_stream_refused_total",
			Help: "Requests refused with 503 because the relay was behind by more than its bound."}),
	}
	if reg != nil {
		reg.MustRegister(b.lag, b.age, b.on, b.refused)
	}
	return b
}

// check is the Publisher's test before it publishes.
func (b *backpressure) check() error {
	if !b.refusing.Load() {
		return nil
	}
	b.refused.Inc()
	why, _ := b.why.Load().(string)
	return fmt.Errorf("%w (%s)", ErrBehind, why)
}

// Lag is the relay's distance behind the stream.
type Lag struct {
	Messages int64         // stream messages past the relay's checkpoint
	Oldest   time.Duration // age of the first of them; 0 if none
	Lost     int64         // messages past the checkpoint the stream no longer holds
}

// Lag reads how far the relay (its checkpoint in cp) is behind the stream.
func (s *Stream) Lag(ctx context.Context, cp store.Checkpoints) (Lag, error) {
	str, err := s.js.Stream(ctx, s.opts.Name)
	if err != nil {
		return Lag{}, fmt.Errorf("stream: look up %s: %w", s.opts.Name, err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		return Lag{}, fmt.Errorf("stream: info of %s: %w", s.opts.Name, err)
	}
	relayed, err := cp.Checkpoint(ctx, RelayCheckpoint)
	if err != nil {
		return Lag{}, fmt.Errorf("stream: relay checkpoint: %w", err)
	}
	var l Lag
	last, first := int64(info.State.LastSeq), int64(info.State.FirstSeq)
	l.Messages = max(last-relayed, 0)
	if l.Messages == 0 {
		return l, nil
	}
	next := relayed + 1
	if first > next { // dropped by the retention before the relay copied them
		l.Lost = min(first, last+1) - next
		next = first
	}
	if next <= last {
		m, err := str.GetMsg(ctx, uint64(next))
		switch {
		case err == nil:
			l.Oldest = max(time.Since(m.Time), 0)
		case errors.Is(err, jetstream.ErrMsgNotFound):
		default:
			return l, fmt.Errorf("stream: read message %d of %s: %w", next, s.opts.Name, err)
		}
	}
	return l, nil
}

// WatchLag reads the relay's lag every second until ctx ends, and makes
// the Publisher refuse events while it is beyond maxLag messages (0: no
// bound by count) or its oldest message is older than half the stream's
// retention. A node that cannot read the lag keeps its last verdict.
func (p *Publisher) WatchLag(ctx context.Context, cp store.Checkpoints, maxLag int64) {
	maxAge := p.s.opts.Retention / 2
	t := time.NewTicker(lagEvery)
	defer t.Stop()
	b := p.bp
	for {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		l, err := p.s.Lag(rctx, cp)
		cancel()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				p.s.log.Warn("stream: cannot read the relay's lag", "err", err)
			}
		default:
			b.lag.Set(float64(l.Messages))
			b.age.Set(l.Oldest.Seconds())
			why := ""
			switch {
			case maxLag > 0 && l.Messages > maxLag:
				why = fmt.Sprintf("%d messages not yet relayed, bound %d (--nats-max-lag)", l.Messages, maxLag)
			case l.Oldest > maxAge:
				why = fmt.Sprintf("the oldest message not yet relayed is %s old, half the retention is %s (--nats-retention)", l.Oldest.Round(time.Second), maxAge)
			}
			if l.Lost > 0 {
				p.s.log.Error("stream: messages dropped by the stream's retention before the relay copied them", "lost", l.Lost)
			}
			was := b.refusing.Load()
			b.why.Store(why)
			b.refusing.Store(why != "")
			switch {
			case why != "" && !was:
				p.s.log.Warn("stream: refusing events until the relay catches up", "why", why)
				b.on.Set(1)
			case why == "" && was:
				p.s.log.Info("stream: the relay caught up; taking events again", "lag", l.Messages)
				b.on.Set(0)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
