package server

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/unify"
)

// Commerce returns the commerce service.
func (s *Server) Commerce() *commerce.Service { return s.commerce }

// startCommerce runs commerce's background work: the consumer that applies
// till sales and cart changes from the log (behind unify: carts follow
// profiles), the reservation expiry loop, and
// the relay that moves the outbox's events into the log (woken by each
// commit, and every second for what another process or a crash left).
func (s *Server) startCommerce(ctx context.Context) {
	every := s.opts.ReservationSweep
	if every <= 0 {
		every = 30 * time.Second
	}
	s.relay.Add(1)
	go func() { defer s.relay.Done(); s.commerce.RunRelay(ctx, time.Second) }()
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		for ctx.Err() == nil {
			err := s.commerce.Run(ctx, s.st, s.unified)
			if err == nil || ctx.Err() != nil {
				return
			}
			s.log.Error("commerce consumer stopped; restarting in 5 seconds", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}()
	go func() { defer s.wg.Done(); s.commerce.RunExpiry(ctx, every) }()
	s.startLoyalty(ctx)
}

// startLoyalty runs the loyalty stage (orders of every channel earn from
// the log, behind unify) and the sweep that expires lots and announces
// the points about to expire.
func (s *Server) startLoyalty(ctx context.Context) {
	l := s.pipeline.Loyalty
	finder := unify.ProfileFinder{Store: s.st, Rules: s.pipeline.Config().Rules}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		for ctx.Err() == nil {
			err := l.Run(ctx, s.st, s.unified, finder)
			if err == nil || ctx.Err() != nil {
				return
			}
			s.log.Error("loyalty stage stopped; restarting in 5 seconds", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}()
	go func() { defer s.wg.Done(); l.RunSweep(ctx, 10*time.Minute) }()
}
