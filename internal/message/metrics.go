package message

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pipeline's Prometheus series; nil fields record nothing.
type metrics struct {
	outcomes *prometheus.CounterVec   // by channel and status
	sends    *prometheus.HistogramVec // provider call duration, by provider and result
}

func newMetrics(reg prometheus.Registerer) metrics {
	if reg == nil {
		return metrics{}
	}
	m := metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_message_outcomes_total",
			Help: "Messages recorded by the workers, by channel and status (sent, retrying, failed, skipped, deferred, queued: handed back).",
		}, []string{"channel", "status"}),
		sends: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parcours_message_send_seconds",
			Help:    "Provider calls, by provider and result (ok, error).",
			Buckets: prometheus.ExponentialBuckets(0.001, 3, 10),
		}, []string{"provider", "result"}),
	}
	reg.MustRegister(m.outcomes, m.sends)
	return m
}

func (m metrics) outcome(channel, status string) {
	if m.outcomes != nil {
		m.outcomes.WithLabelValues(channel, status).Inc()
	}
}

func (m metrics) send(provider string, d time.Duration, err error) {
	if m.sends != nil {
		result := "ok"
		if err != nil {
			result = "error"
		}
		m.sends.WithLabelValues(provider, result).Observe(d.Seconds())
	}
}
