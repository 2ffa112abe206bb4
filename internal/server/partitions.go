package server

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/partition"
)

// PartitionStore is a store the segment stage can run partitioned on
// (the PostgreSQL store, migration 0025): leases, routes, and sessions that
// declare their node.
type PartitionStore interface {
	partition.Leases
	partition.Source
	partition.RouterStore
	DeclareNode(node string)
}

// startPartitions runs this node's share of the segment stage's partitions
// (Options.Config.Partitions > 0, docs/scale.md "Partitions that respect
// identity"): every node of the cluster holds some, whoever holds the
// pipeline lease; they move when nodes join, leave or die.
func (s *Server) startPartitions(ctx context.Context) {
	parts := s.opts.Config.Partitions
	if parts <= 0 {
		return
	}
	ps, ok := s.st.(PartitionStore)
	if !ok {
		s.log.Error("partitions: the store cannot run partitioned stages (PostgreSQL only); the segment stage does not run")
		return
	}
	node := s.opts.Stream.Node()
	ps.DeclareNode(node)
	s.partitions = &partition.Coordinator{Leases: ps, Node: node, Address: s.opts.Addr, Partitions: parts, Logger: s.log,
		Metrics: partition.NewMetrics(s.registry),
		Run: func(ctx context.Context, part int, token int64) error {
			if err := s.segments.Load(ctx); err != nil {
				return err
			}
			return s.pipeline.RunPartition(ctx, ps, part)
		}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.partitions.Start(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("partitions: stopped", "err", err)
		}
	}()
}

// runRouter routes the log behind unify to the partitions, on the node
// holding the pipeline lease, restarting after a failure.
func (s *Server) runRouter(ctx context.Context) {
	ps, ok := s.st.(PartitionStore)
	if !ok {
		return
	}
	r := s.pipeline.Router(ps)
	for ctx.Err() == nil {
		err := r.Run(ctx, s.unified)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Error("partitions: the router stopped; restarting in 5 seconds", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

// Partitions returns the coordinator of this node's partitions, nil when
// the stages are not partitioned.
func (s *Server) Partitions() *partition.Coordinator { return s.partitions }
