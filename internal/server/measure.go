package server

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/measure"
)

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
