package collect

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the ingestion counters and histograms exposed on /metrics.
type Metrics struct {
	accepted   *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	rejected   *prometheus.CounterVec
	requests   *prometheus.HistogramVec
	refused    *prometheus.CounterVec
	reg        prometheus.Registerer
}

// NewMetrics creates the ingestion metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_events_accepted_total",
			Help: "Events stored in the event log, by source.",
		}, []string{"source"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_events_deduplicated_total",
			Help: "Events not stored because their (source, messageId) was already stored.",
		}, []string{"source"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_events_rejected_total",
			Help: "Events that failed validation, by source, reason and action (dropped, or stored after a correction).",
		}, []string{"source", "reason", "action"}),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parcours_ingest_request_duration_seconds",
			Help:    "Latency of ingestion requests, from the first byte read to the response, by endpoint and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"endpoint", "code"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_ingest_refused_total",
			Help: "Ingestion requests refused for overload or slowness, by reason: in_flight, unkeyed, unkeyed_per_client, memory, queue, key_lookups (503); body_timeout (408); too_many_events (400).",
		}, []string{"reason"}),
		reg: reg,
	}
	reg.MustRegister(m.accepted, m.duplicates, m.rejected, m.requests, m.refused)
	return m
}

// watch exposes the limits of h: its pools, memory budget and saturation.
func (m *Metrics) watch(h *Handler) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parcours_ingest_in_flight_requests", Help: "Ingestion requests with a valid write key being handled (limit: --max-in-flight).",
		}, func() float64 { return float64(h.keyed.inUse.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parcours_ingest_unkeyed_requests", Help: "Ingestion requests without an Authorization header reading their body (limit: --max-unkeyed).",
		}, func() float64 { return float64(h.unkeyed.inUse.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parcours_ingest_memory_bytes", Help: "Decoded size of the ingestion requests in flight (limit: --ingest-memory).",
		}, func() float64 { return float64(h.mem.used.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parcours_ingest_saturated", Help: "1 while ingestion refuses keyed work for overload or did in the last 5 seconds (/readyz answers 503).",
		}, func() float64 {
			if h.Saturation().Saturated {
				return 1
			}
			return 0
		}),
	)
}

// CommitterMetrics exposes a committer's queue and counters.
func CommitterMetrics(reg prometheus.Registerer, c *Committer) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parcours_ingest_queued_events",
			Help: "Events waiting for the next group commit.",
		}, func() float64 { return float64(c.Queued()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parcours_ingest_commits_total",
			Help: "Group commits written to the event log.",
		}, func() float64 { return float64(c.Stats().Commits.Load()) }),
	)
}
