package commerce

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics count the outbox relay's work. A nil *Metrics counts nothing.
type Metrics struct {
	delivered prometheus.Counter
	failures  prometheus.Counter
	delay     prometheus.Summary
}

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
	reg.MustRegister(m.delivered, m.failures, m.delay)
	return m
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
