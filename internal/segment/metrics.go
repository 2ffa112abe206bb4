package segment

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/store"
)

// Metrics count the segment stage's work. A nil *Metrics counts nothing.
type Metrics struct {
	events, entered, exited prometheus.Counter
	perEvent                prometheus.Summary
	entry                   prometheus.Summary
}

// NewMetrics creates the segment metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		events:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parcours_segment_events_total", Help: "Events the segment stage applied."}),
		entered: prometheus.NewCounter(prometheus.CounterOpts{Name: "parcours_segment_entered_total", Help: "Profiles that entered a segment."}),
		exited:  prometheus.NewCounter(prometheus.CounterOpts{Name: "parcours_segment_exited_total", Help: "Profiles that left a segment."}),
		perEvent: prometheus.NewSummary(prometheus.SummaryOpts{
			Name: "parcours_segment_batch_seconds_per_event", Help: "Segment stage time per event of a batch.",
			Objectives: map[float64]float64{0.5: 0.01, 0.99: 0.001}, MaxAge: 10 * time.Minute,
		}),
	}
	m.entry = prometheus.NewSummary(prometheus.SummaryOpts{
		Name:       "parcours_segment_entry_seconds",
		Help:       "From the receipt of the event that made a customer enter a segment to the entry recorded.",
		Objectives: map[float64]float64{0.5: 0.01, 0.9: 0.005, 0.99: 0.001}, MaxAge: 10 * time.Minute,
	})
	reg.MustRegister(m.events, m.entered, m.exited, m.perEvent, m.entry)
	return m
}

func (m *Metrics) batch(events int, took time.Duration, changes []store.SegmentChange) {
	if m == nil {
		return
	}
	m.events.Add(float64(events))
	if events > 0 {
		m.perEvent.Observe(took.Seconds() / float64(events))
	}
	for _, c := range changes {
		if c.Entered {
			m.entered.Inc()
		} else {
			m.exited.Inc()
		}
	}
}

// entries observes, for each entry a live event caused, the time from its
// receipt to now (the entry recorded).
func (m *Metrics) entries(now time.Time, received []time.Time) {
	if m == nil {
		return
	}
	for _, r := range received {
		m.entry.Observe(max(now.Sub(r), 0).Seconds())
	}
}
