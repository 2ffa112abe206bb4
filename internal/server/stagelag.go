package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/loyalty"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/partition"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// Stages are the consumers of the event log that serve runs, in the order
// events flow through them.
var Stages = []string{unify.Consumer, segment.Consumer, message.Consumer, journey.Consumer, commerce.Consumer, measure.Consumer, loyalty.Consumer}

// stageLag reports, on each scrape, how far each stage is behind the log:
// in events, and in seconds (how long ago the oldest event it has not
// handled yet was received; 0 when it has handled them all).
type stageLag struct {
	st store.Store
	// names are the checkpoints reported: Stages, with the segment and
	// journey stages' partitions in place of "segment" and "journey" when
	// they are partitioned.
	names  []string
	clock  clock.Clock
	events *prometheus.Desc
	age    *prometheus.Desc
}

func newStageLag(st store.Store, clk clock.Clock, segments ...string) *stageLag {
	if len(segments) == 0 {
		segments = []string{segment.Consumer}
	}
	var names []string
	for _, n := range Stages {
		if n == segment.Consumer {
			names = append(names, segments...)
			continue
		}
		if n == journey.Consumer && len(segments) > 1 {
			// Partitioned: journeys have the segments' partitions.
			for _, sg := range segments {
				if _, part, ok := partition.Parse(sg); ok {
					names = append(names, partition.Name(journey.Consumer, part))
				}
			}
			continue
		}
		names = append(names, n)
	}
	return &stageLag{
		st: st, clock: clk, names: names,
		events: prometheus.NewDesc("parcours_stage_behind_events",
			"Events of the log a stage has not handled yet.", []string{"stage"}, nil),
		age: prometheus.NewDesc("parcours_stage_lag_seconds",
			"How long ago the oldest event a stage has not handled yet was received (0: it is caught up).", []string{"stage"}, nil),
	}
}

func (l *stageLag) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.events
	ch <- l.age
}

func (l *stageLag) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	last, err := l.st.LastSeq(ctx)
	if err != nil {
		return
	}
	now := l.clock.Now()
	for _, name := range l.names {
		cp, err := l.st.Checkpoint(ctx, name)
		if err != nil {
			continue
		}
		behind, age := max(last-cp, 0), 0.0
		if behind > 0 {
			if next, err := l.st.ReadAfter(ctx, cp, 1); err == nil && len(next) == 1 {
				age = max(now.Sub(next[0].ReceivedAt).Seconds(), 0)
			}
		}
		ch <- prometheus.MustNewConstMetric(l.events, prometheus.GaugeValue, float64(behind), name)
		ch <- prometheus.MustNewConstMetric(l.age, prometheus.GaugeValue, age, name)
	}
}
