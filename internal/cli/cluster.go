package cli

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/partition"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store/postgres"
	"github.com/parcours/parcours/internal/stream"
	"github.com/parcours/parcours/internal/unify"
)

type clusterCmd struct {
	Status clusterStatusCmd `cmd:"" help:"Show the live nodes, which node runs the relay and the stages, which runs each partition of the segment stage (--partitions), and how far the event log, unify and the partitions are behind the stream."`
}

type clusterStatusCmd struct {
	NATS       string `name:"nats" help:"NATS server(s) the nodes use." env:"PARCOURS_NATS" required:""`
	NATSStream string `name:"nats-stream" help:"Name of the JetStream stream the nodes use." env:"PARCOURS_NATS_STREAM" default:"PARCOURS_EVENTS"`
}

func (c *clusterStatusCmd) Run(g *config.Globals, e *env) error {
	if g.Database == "" {
		return fmt.Errorf("cluster status: needs --database postgres://... (the database the nodes share)")
	}
	st, err := openStore(e.ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := stream.Connect(e.ctx, stream.Options{URL: c.NATS, Name: c.NATSStream, Inspect: true, Logger: e.log})
	if err != nil {
		return err
	}
	defer s.Close()
	status, err := s.Status(e.ctx, st)
	if err != nil {
		return err
	}
	last, err := st.LastSeq(e.ctx)
	if err != nil {
		return err
	}
	unified, err := st.Checkpoint(e.ctx, unify.Consumer)
	if err != nil {
		return err
	}
	// The fence: the node PostgreSQL takes the pipeline's writes from
	// (docs/scale.md, Fencing); it names the lease holder once it has
	// started its stages.
	var fenceNode, fenceToken string
	if f, ok := st.(interface {
		FenceHolder(context.Context) (string, string, error)
	}); ok {
		if fenceNode, fenceToken, err = f.FenceHolder(e.ctx); err != nil {
			return err
		}
	}
	parts, err := partitionStatus(e.ctx, st, last)
	if err != nil {
		return err
	}
	if g.JSON {
		out := map[string]any{"cluster": status, "log_last_seq": last, "unify_seq": unified, "unify_lag": last - unified,
			"fence_node": fenceNode, "fence_token": fenceToken}
		if len(parts) > 0 {
			out["partitions"] = parts
		}
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "stream %s on %s: %d messages, last %d, replicas %d\n", status.Stream, status.Server, status.Messages, status.LastSeq, status.Replicas)
	fmt.Fprintf(e.stdout, "relay: %d of %d copied into the event log (%d behind), run by %s\n", status.Relayed, status.LastSeq, status.Lag, orNone(status.Leases[server.PipelineLease]))
	fmt.Fprintf(e.stdout, "event log: last %d; unify at %d (%d behind)\n", last, unified, last-unified)
	if fenceNode != "" {
		fmt.Fprintf(e.stdout, "fence: PostgreSQL takes the pipeline's writes from %s only (token %s)\n", fenceNode, fenceToken)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nnode\taddress\tup\truns")
	for _, n := range status.Nodes {
		runs := "ingestion, API"
		if status.Leases[server.PipelineLease] == n.Node {
			runs += ", relay and stages"
		}
		var held []string
		for _, p := range parts {
			if p.Node == n.Node && p.Live {
				held = append(held, strconv.Itoa(p.Partition))
			}
		}
		if len(held) > 0 {
			runs += ", partitions " + strings.Join(held, " ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Node, n.Addr, time.Since(n.Started).Round(time.Second), runs)
	}
	tw.Flush()
	if len(status.Nodes) == 0 {
		fmt.Fprintln(e.stdout, "no live node")
	}
	if len(parts) > 0 {
		tw = tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "\npartition\tnode\ttoken\tcheckpoint\tbehind")
		for _, p := range parts {
			node := p.Node
			if !p.Live {
				node = "none (" + cmp.Or(p.Node, "free") + ", lease expired or released: being taken over)"
			}
			fmt.Fprintf(tw, "segment.p%d\t%s\t%d\t%d\t%d\n", p.Partition, node, p.Token, p.Checkpoint, p.Behind)
		}
		tw.Flush()
	}
	return nil
}

// partitionRow is one partition of the segment stage in cluster status.
type partitionRow struct {
	Partition  int    `json:"partition"`
	Node       string `json:"node"`
	Live       bool   `json:"live"`
	Token      int64  `json:"token"`
	Checkpoint int64  `json:"checkpoint"`
	Behind     int64  `json:"behind"`
}

// partitionStatus reads the partitions' leases and checkpoints (none when
// the stages are not partitioned, or the store is not PostgreSQL).
func partitionStatus(ctx context.Context, st any, last int64) ([]partitionRow, error) {
	ps, ok := st.(interface {
		PartitionLeases(context.Context) ([]postgres.PartitionLease, error)
		Checkpoint(context.Context, string) (int64, error)
	})
	if !ok {
		return nil, nil
	}
	leases, err := ps.PartitionLeases(ctx)
	if err != nil {
		return nil, err
	}
	var out []partitionRow
	for _, l := range leases {
		cp, err := ps.Checkpoint(ctx, partition.Name(segment.Consumer, l.Part))
		if err != nil {
			return nil, err
		}
		// The journeys of the partition read behind its segments.
		jcp, err := ps.Checkpoint(ctx, partition.Name(journey.Consumer, l.Part))
		if err != nil {
			return nil, err
		}
		cp = min(cp, jcp)
		out = append(out, partitionRow{Partition: l.Part, Node: l.Node, Live: l.Live, Token: l.Token, Checkpoint: cp, Behind: max(last-cp, 0)})
	}
	return out, nil
}

func orNone(s string) string {
	if s == "" {
		return "no node (none live, or the lease is being taken over)"
	}
	return s
}
