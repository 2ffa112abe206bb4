package server

import (
	"context"
	"errors"
	"time"

	"github.com/parcours/parcours/internal/stream"
)

// PipelineLease is the lease under which one node of a cluster relays the
// stream into the event log and runs the stages (docs/scale.md).
const PipelineLease = "pipeline"

// startClustered runs the relay and the stages on this node while it holds
// the pipeline lease: it waits for the lease (ingestion and the API are
// served meanwhile), starts them once it holds it, and stops them when it
// loses it. The stages are started once per process: a node that lost the
// lease calls Options.LeaseLost, to be restarted, rather than starting
// them again beside what the lost run may still be finishing.
func (s *Server) startClustered(ctx context.Context) {
	relay := s.opts.Stream.Relay(s.commit, s.st, s.registry)
	s.wg.Add(4)
	go func() { defer s.wg.Done(); s.reloadDefinitions(ctx, definitionsReload) }()
	go func() { defer s.wg.Done(); s.publisher.WatchLag(ctx, s.st, s.opts.Stream.MaxLag()) }()
	go func() {
		defer s.wg.Done()
		s.opts.Stream.Announce(ctx, stream.NodeInfo{Addr: s.opts.Addr, Started: s.opts.Clock.Now()})
	}()
	s.startPartitions(ctx)
	go func() {
		defer s.wg.Done()
		once, stop := context.WithCancel(ctx)
		defer stop()
		s.opts.Stream.Hold(once, PipelineLease, func(held context.Context) {
			// Fence first: from here on, a node that held the lease
			// before this one cannot write the pipeline's tables, paused
			// or not (docs/scale.md, Fencing). If it fails, the lease is
			// released and claimed again.
			if err := s.fence(held); err != nil {
				s.log.Error("cluster: cannot fence the pipeline; giving the lease up", "err", err)
				select {
				case <-held.Done():
				case <-time.After(time.Second):
				}
				return
			}
			defer stop() // never claim it again in this process
			s.startMu.Lock()
			if ctx.Err() != nil { // Close came first
				s.startMu.Unlock()
				return
			}
			// The relay's last batch goes through the committer: Close
			// waits for it before closing the committer.
			s.relay.Add(1)
			go func() { defer s.relay.Done(); relay.RunUntil(held) }()
			s.startStages(held)
			s.startMu.Unlock()
			<-held.Done()
			if ctx.Err() == nil {
				s.log.Error("cluster: lost the pipeline lease; the stages stop and this node must be restarted", "lease", PipelineLease)
				if s.opts.LeaseLost != nil {
					s.opts.LeaseLost()
				}
			}
		})
	}()
}

// Fencer is a store that can refuse the writes of a pipeline owner whose
// lease has been taken since (the PostgreSQL store, migration 0021).
type Fencer interface {
	Fence(ctx context.Context, epoch int64, token uint64, node string) (previous string, err error)
}

// fence records this node's holding of the pipeline lease in the store,
// when the store fences: it waits for the previous owner's open
// transactions, and refuses that owner's writes from then on.
func (s *Server) fence(held context.Context) error {
	f, ok := s.st.(Fencer)
	if !ok {
		return nil
	}
	tok, ok := stream.LeaseToken(held)
	if !ok {
		return errors.New("no lease token")
	}
	ctx, cancel := context.WithTimeout(held, 30*time.Second)
	defer cancel()
	start := time.Now()
	me := s.opts.Stream.Node()
	prev, err := f.Fence(ctx, tok.Epoch, tok.Rev, me)
	if err != nil {
		return err
	}
	s.log.Info("cluster: pipeline fenced", "epoch", tok.Epoch, "token", tok.Rev, "previous", prev, "took", time.Since(start).Round(time.Millisecond))
	if prev == "" || prev == me {
		return nil // this node's own leases are taken back by its stages at start
	}
	// The previous owner can no longer write the outbox or the
	// enrolments: what it left leased is taken back now, as a restarted
	// node takes back its own, rather than when the leases expire.
	if s.messages != nil {
		if err := s.messages.ReclaimNode(ctx, prev); err != nil {
			s.log.Error("cluster: take back the previous owner's messages", "node", prev, "err", err)
		}
	}
	if n, err := s.st.ReleaseEnrolmentLeases(ctx, prev, s.opts.Clock.Now()); err != nil {
		s.log.Error("cluster: take back the previous owner's enrolments", "node", prev, "err", err)
	} else if n > 0 {
		s.log.Warn("cluster: took back the previous owner's enrolments", "node", prev, "enrolments", n)
	}
	return nil
}

// definitionsReload is how often a clustered node reads the segment and
// journey definitions again: one saved through another node's API reaches
// the pipeline node (and this node's API) within it.
const definitionsReload = 5 * time.Second

// reloadDefinitions reads the segment and journey definitions from the
// store every `every` until ctx ends. On one node the API that saves a
// definition loads it into the stages at once; in a cluster the stages may
// run on another node.
func (s *Server) reloadDefinitions(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.segments.Load(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("cluster: reload segment definitions", "err", err)
		}
		if err := s.journeys.Load(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("cluster: reload journey definitions", "err", err)
		}
	}
}

// Stream returns the node's stream, nil in single-node mode.
func (s *Server) Stream() *stream.Stream { return s.opts.Stream }

// clusterReady says whether a clustered node can take ingestion (it
// reaches NATS), with the cluster as it sees it for /readyz.
func (s *Server) clusterReady(ctx context.Context) (stream.Status, error) {
	st, err := s.opts.Stream.Status(ctx, s.st)
	if err == nil && !st.Connected {
		err = errors.New("not connected to NATS (reconnecting)")
	}
	return st, err
}
