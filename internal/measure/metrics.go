package measure

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/store"
)

// Metrics count the measure stage's work. A nil *Metrics counts nothing.
type Metrics struct {
	flushes    prometheus.Counter
	checkpoint prometheus.Gauge
	flushTime  prometheus.Summary
	lag        prometheus.Summary
}

// NewMetrics creates the measure metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		flushes:    prometheus.NewCounter(prometheus.CounterOpts{Name: "parcours_measure_flushes_total", Help: "Writes of the measurement rollups."}),
		checkpoint: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parcours_measure_checkpoint", Help: "The last event (seq) the rollups count."}),
		flushTime: prometheus.NewSummary(prometheus.SummaryOpts{Name: "parcours_measure_flush_seconds",
			Help: "Time to write one flush of the rollups.", Objectives: map[float64]float64{0.5: 0.01, 0.99: 0.001}, MaxAge: 10 * time.Minute}),
		lag: prometheus.NewSummary(prometheus.SummaryOpts{Name: "parcours_measure_lag_seconds",
			Help:       "Time from an event's receipt to the rollups counting it (written), over the last 10 minutes: a lag that grows means the stage does not keep up.",
			Objectives: map[float64]float64{0.5: 0.01, 0.9: 0.01, 0.99: 0.001}, MaxAge: 10 * time.Minute}),
	}
	reg.MustRegister(m.flushes, m.checkpoint, m.flushTime, m.lag)
	return m
}

func (m *Metrics) flushed(b *store.MeasureBatch, received []time.Time, now time.Time, took time.Duration) {
	if m == nil {
		return
	}
	m.flushes.Inc()
	m.checkpoint.Set(float64(b.Checkpoint))
	m.flushTime.Observe(took.Seconds())
	for _, r := range received {
		if !r.IsZero() {
			m.lag.Observe(now.Sub(r).Seconds())
		}
	}
}
