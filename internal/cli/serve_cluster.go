package cli

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/stream"
)

// clusterFlags are serve's flags for running as one of several nodes on
// PostgreSQL and NATS JetStream (docs/scale.md).
type clusterFlags struct {
	NATS            string        `name:"nats" help:"NATS server(s) with JetStream (nats://host:4222, comma-separated for a cluster): ingestion acknowledges once the events are in the stream, and one node at a time relays the stream into the event log and runs the stages. Needs --database postgres://..." env:"PARCOURS_NATS"`
	NATSStream      string        `name:"nats-stream" help:"Name of the JetStream stream (its subjects and lease bucket are named after it)." env:"PARCOURS_NATS_STREAM" default:"PARCOURS_EVENTS"`
	NATSReplicas    int           `name:"nats-replicas" help:"Replicas of the stream and the lease bucket (3 on a 3-server NATS cluster)." env:"PARCOURS_NATS_REPLICAS" default:"1"`
	NATSDedupWindow time.Duration `name:"nats-dedup-window" help:"How long JetStream remembers a (source, messageId) to drop a resent event (older repeats are dropped by the event log's own --dedup-window)." env:"PARCOURS_NATS_DEDUP_WINDOW" default:"2m"`
	NATSRetention   time.Duration `name:"nats-retention" help:"How long the stream keeps an event; the relay must have copied it into the event log by then (ingestion answers 503 once the oldest event not yet relayed is older than half of it)." env:"PARCOURS_NATS_RETENTION" default:"24h"`
	NATSMaxLag      int64         `name:"nats-max-lag" help:"Events the relay may be behind the stream before ingestion answers 503 with Retry-After (back-pressure); -1: no bound by count (the bound by age, half of --nats-retention, still holds)." env:"PARCOURS_NATS_MAX_LAG" default:"1000000"`
	// Partitions splits the segment stage between the live nodes.
	Partitions int `name:"partitions" help:"Split the segment stage into this many partitions shared by the live nodes (each runs its share; a dead node's are taken over within about 6 s; docs/scale.md). 0: one node runs it with the other stages. Every node of a cluster must be given the same number; needs --nats." env:"PARCOURS_PARTITIONS" default:"0"`
}

// errLeaseLost ends serve when another node took the pipeline lease from
// this one (a pause longer than the lease, a network partition): its stages
// stopped, and a supervisor restarts it.
var errLeaseLost = errors.New("serve: this node lost the pipeline lease (paused or cut off for more than 6s); its stages stopped; restart it (systemd's Restart=always does)")

// cluster connects serve to the stream when --nats is given, and returns
// the context serve runs in (ended when the node loses the pipeline lease)
// and whether it was lost. Without --nats: e's context, never lost.
func (c *serveCmd) cluster(e *env, st store.Store, node string, so *server.Options) (context.Context, func() bool, error) {
	never := func() bool { return false }
	if c.NATS == "" {
		if c.Partitions != 0 {
			return nil, never, fmt.Errorf("--partitions %d: needs --nats (partitions are shared by the nodes of a cluster)", c.Partitions)
		}
		return e.ctx, never, nil
	}
	if c.Partitions < 0 || c.Partitions > 1024 {
		return nil, never, fmt.Errorf("--partitions %d: want 0 (not partitioned) to 1024; a few per node is plenty (docs/scale.md)", c.Partitions)
	}
	so.Config.Partitions = c.Partitions
	if st.Engine() != "postgres" {
		return nil, never, fmt.Errorf("--nats %s: needs --database postgres://... (every node shares its state in PostgreSQL; the embedded store is one node's)", c.NATS)
	}
	s, err := stream.Connect(e.ctx, stream.Options{URL: c.NATS, Name: c.NATSStream, Replicas: c.NATSReplicas,
		DedupWindow: c.NATSDedupWindow, Retention: c.NATSRetention, MaxLag: c.NATSMaxLag, Node: node, Logger: e.log})
	if err != nil {
		return nil, never, err
	}
	ctx, cancel := context.WithCancel(e.ctx)
	var lost atomic.Bool
	so.Stream = s
	so.LeaseLost = func() { lost.Store(true); cancel() }
	return ctx, lost.Load, nil
}
