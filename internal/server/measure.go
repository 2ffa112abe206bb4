package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// newMeasure assembles the Measure part: the stage that keeps the rollups
// behind unify, and the embedded engine reports read.
func newMeasure(st store.Store, o Options, index *segment.Index, yield func() bool, reg prometheus.Registerer) *measure.Service {
	zone := o.Zone
	if zone == nil {
		zone = time.UTC
	}
	stage := measure.NewStage(st, measure.Options{Clock: o.Clock, Logger: o.Logger, Rules: o.Rules, Zone: zone, Yield: yield,
		Metrics: measure.NewMetrics(reg)})
	engine := measure.NewRollups(st, zone, o.Clock)
	if index != nil {
		engine.Index = index // funnels read the segments' behaviour index
	}
	return measure.NewService(st, engine, stage, zone, o.Clock)
}

// Measure returns the Measure service.
func (s *Server) Measure() *measure.Service { return s.measure }

// startMeasure runs the measure stage behind unify, restarting it after a
// failure.
func (s *Server) startMeasure(ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for ctx.Err() == nil {
			err := s.measure.Stage.Run(ctx, s.unified)
			if err == nil || ctx.Err() != nil {
				return
			}
			s.log.Error("measure stage stopped; restarting in 5 seconds", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}()
}
