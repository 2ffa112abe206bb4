package server

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/journey"
)

// Journeys returns the journey engine.
func (s *Server) Journeys() *journey.Engine { return s.journeys }

// startJourneys loads the journeys, then follows the log behind the
// segment stage and fires due timers every second (and at once when an
// event makes an enrolment due).
func (s *Server) startJourneys(ctx context.Context) {
	if err := s.journeys.Load(ctx); err != nil {
		s.log.Error("journeys: load definitions", "err", err)
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if s.opts.Config.Partitions > 0 {
			return // the partitions' owners read the log (RunPartition)
		}
		for ctx.Err() == nil {
			err := s.journeys.Run(ctx, s.behindJourneys.Out)
			if err == nil || ctx.Err() != nil {
				return
			}
			s.log.Error("journeys stopped; restarting in 5 seconds", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
			if err := s.journeys.Load(ctx); err != nil {
				s.log.Error("journeys: load definitions", "err", err)
			}
		}
	}()
	go func() { defer s.wg.Done(); s.journeys.RunTimers(ctx, time.Second) }()
}
