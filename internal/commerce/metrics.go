package commerce

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count the outbox relay's work. A nil *Metrics counts nothing.
type Metrics struct {
	delivered    prometheus.Counter
	failures     prometheus.Counter
	delay        prometheus.Summary
	reservations *prometheus.CounterVec
	reg          prometheus.Registerer
}

// outboxCap bounds what one scrape counts of the outbox: past it the
// depth reads as outboxCap (the relay is stuck either way).
const outboxCap = 10_000

// NewMetrics creates the commerce metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "parcours_commerce_outbox_delivered_total",
			Help: "Commerce events the relay appended to the log (a re-sent one counts again; the log keeps it once)."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "parcours_commerce_outbox_failures_total",
			Help: "Outbox deliveries that failed; their events stay in the outbox and are retried."}),
		delay: prometheus.NewSummary(prometheus.SummaryOpts{
			Name: "parcours_commerce_outbox_delay_seconds", Help: "Time from a commerce change to its event appended to the log.",
			Objectives: map[float64]float64{0.5: 0.01, 0.99: 0.001}, MaxAge: 10 * time.Minute,
		}),
	}
	m.reservations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parcours_commerce_reservations_total",
		Help: "Stock reservations by outcome: reserved, released, expired, refused (stock short or another refusal)."}, []string{"outcome"})
	for _, o := range []string{"reserved", "released", "expired", "refused"} {
		m.reservations.WithLabelValues(o)
	}
	m.reg = reg
	reg.MustRegister(m.delivered, m.failures, m.delay, m.reservations)
	return m
}

// watchOutbox registers the outbox's depth: the commerce events written
// and not yet appended to the log, read from the store at each scrape
// (at most outboxCap; -1 when the store does not answer within a second).
func (m *Metrics) watchOutbox(st OutboxStore) {
	if m == nil || m.reg == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "parcours_commerce_outbox_pending",
		Help: "Commerce events in the outbox, not yet in the log (capped at 10,000; -1: the store did not answer)."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			es, err := st.Outbox(ctx, outboxCap)
			if err != nil {
				return -1
			}
			return float64(len(es))
		}))
}

// reservation counts a reservation's outcome.
func (m *Metrics) reservation(outcome string, n int) {
	if m != nil && n > 0 {
		m.reservations.WithLabelValues(outcome).Add(float64(n))
	}
}

func (m *Metrics) deliveredBatch(entries []OutboxEntry, now time.Time) {
	if m == nil {
		return
	}
	m.delivered.Add(float64(len(entries)))
	for _, e := range entries {
		m.delay.Observe(max(0, now.Sub(e.CreatedAt).Seconds()))
	}
}

func (m *Metrics) failed() {
	if m != nil {
		m.failures.Inc()
	}
}
