package unify

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// Metrics count the unify stage's work. A nil *Metrics counts nothing.
type Metrics struct {
	events, batches, merges, unresolvedEvents prometheus.Counter
	refusals, ignored                         *prometheus.CounterVec
	lag                                       prometheus.Summary
}

// NewMetrics creates the unify metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	}
	m := &Metrics{
		events:           counter("parcours_unify_events_total", "Events applied to profiles."),
		batches:          counter("parcours_unify_batches_total", "Batches of events applied."),
		merges:           counter("parcours_unify_merges_total", "Profiles merged into others."),
		unresolvedEvents: counter("parcours_unify_events_unresolved_total", "Events without a usable identifier: on no timeline."),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_unify_identifiers_refused_total",
			Help: "Identifiers not linked because of a limit or a cap (merge storms show here), by reason."}, []string{"reason"}),
		ignored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parcours_unify_identifiers_ignored_total",
			Help: "Identifiers ignored as junk (blocklist, patterns, unparseable), by kind."}, []string{"kind"}),
	}
	m.lag = prometheus.NewSummary(prometheus.SummaryOpts{
		Name:       "parcours_unify_lag_seconds",
		Help:       "Time from an event's receipt to its profile being updated (committed), over the last 10 minutes.",
		Objectives: map[float64]float64{0.5: 0.01, 0.9: 0.01, 0.99: 0.001},
		MaxAge:     10 * time.Minute,
	})
	reg.MustRegister(m.events, m.batches, m.merges, m.unresolvedEvents, m.refusals, m.ignored, m.lag)
	return m
}

func (m *Metrics) batch(b *store.UnifyBatch, events []*event.Event, now time.Time) {
	if m == nil {
		return
	}
	m.events.Add(float64(len(events)))
	m.batches.Inc()
	m.merges.Add(float64(len(b.Merged)))
	for _, e := range events {
		if e.Channel != profile.InternalChannel {
			m.lag.Observe(now.Sub(e.ReceivedAt).Seconds())
		}
	}
}

func (m *Metrics) refused(reason string) {
	if m == nil {
		return
	}
	// Reasons carry numbers ("holds 5 email"); the label keeps their kind.
	label := "limit"
	switch {
	case strings.Contains(reason, "cap"):
		label = "cap"
	case strings.Contains(reason, "user id"):
		label = "user_id_conflict"
	}
	m.refusals.WithLabelValues(label).Inc()
}

func (m *Metrics) junk(k identity.Kind) {
	if m == nil {
		return
	}
	label := string(k)
	if strings.HasPrefix(label, identity.ExternalPrefix) {
		label = "external"
	}
	m.ignored.WithLabelValues(label).Inc()
}

func (m *Metrics) unresolved() {
	if m != nil {
		m.unresolvedEvents.Inc()
	}
}
