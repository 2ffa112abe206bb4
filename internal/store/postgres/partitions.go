package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parcours/parcours/internal/event"
)

// Partitioned stages (migration 0025, docs/scale.md "Partitions that
// respect identity"): the live nodes, the partitions' leases with their
// fence tokens, and the routes of the events. These are PostgreSQL's only:
// partitions exist in cluster mode, which requires PostgreSQL.

// ErrPartitionFenced is the error of a partition's checkpoint written by a
// node that no longer holds the partition's lease.
var ErrPartitionFenced = errors.New("postgres: fenced: another node holds the partition now")

// partitionFencedCode is the SQLSTATE parcours_partition_check raises.
const partitionFencedCode = "PF002"

// IsPartitionFenced reports whether err is a partition write refused
// because the partition moved.
func IsPartitionFenced(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, ErrPartitionFenced) || errors.As(err, &pe) && pe.Code == partitionFencedCode
}

// DeclareNode makes every session of this store declare node
// (parcours.node): from then on a partition's checkpoint ("<stage>.p<n>")
// written through this store commits only while node holds partition n's
// lease. A store that declares no node is not checked (single node, the
// CLI).
func (s *Store) DeclareNode(node string) { s.fence.node.Store(node) }

// EnsurePartitions creates the leases of partitions 0..n-1. It fails if
// the database was set up with another number: the routes already written
// are by that number, and a change needs a rebuild (docs/scale.md).
func (s *Store) EnsurePartitions(ctx context.Context, n int) error {
	if n < 1 {
		return fmt.Errorf("postgres: partitions: %d: want at least 1", n)
	}
	var count, upto int
	if err := s.pool.QueryRow(ctx, queries.Get("partitions-count")).Scan(&count, &upto); err != nil {
		return fmt.Errorf("postgres: partitions: %w", err)
	}
	if count != 0 && (count != n || upto != n) {
		return fmt.Errorf("postgres: partitions: this database's pipeline is split into %d partitions, not %d: start every node with --partitions %d (changing the number needs the routes rebuilt, docs/scale.md)", count, n, count)
	}
	if _, err := s.pool.Exec(ctx, queries.Get("partitions-ensure"), n); err != nil {
		return fmt.Errorf("postgres: partitions: %w", err)
	}
	return nil
}

// ClusterNode is a node's heartbeat row.
type ClusterNode struct {
	Node, Address          string
	StartedAt, HeartbeatAt time.Time
}

// Heartbeat records that node is alive (and its address).
func (s *Store) Heartbeat(ctx context.Context, node, address string) error {
	if _, err := s.pool.Exec(ctx, queries.Get("node-heartbeat"), node, address); err != nil {
		return fmt.Errorf("postgres: heartbeat of node %s: %w", node, err)
	}
	return nil
}

// LeaveCluster removes node's heartbeat: the others rebalance at once.
func (s *Store) LeaveCluster(ctx context.Context, node string) error {
	if _, err := s.pool.Exec(ctx, queries.Get("node-leave"), node); err != nil {
		return fmt.Errorf("postgres: node %s leaves: %w", node, err)
	}
	return nil
}

// LiveNodes returns the nodes whose last heartbeat is younger than ttl (by
// the database's clock), ordered by id.
func (s *Store) LiveNodes(ctx context.Context, ttl time.Duration) ([]ClusterNode, error) {
	rows, err := s.pool.Query(ctx, queries.Get("nodes-live"), ttl.Seconds())
	if err != nil {
		return nil, fmt.Errorf("postgres: live nodes: %w", err)
	}
	var out []ClusterNode
	var n ClusterNode
	if _, err := pgx.ForEachRow(rows, []any{&n.Node, &n.Address, &n.StartedAt, &n.HeartbeatAt}, func() error {
		out = append(out, n)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: live nodes: %w", err)
	}
	return out, nil
}

// ClaimPartition gives partition part to node for ttl if it is free (never
// held, released, or its lease expired), and returns the new fence token;
// ok false: another node holds it.
func (s *Store) ClaimPartition(ctx context.Context, part int, node string, ttl time.Duration) (token int64, ok bool, err error) {
	err = s.pool.QueryRow(ctx, queries.Get("partition-claim"), part, node, ttl.Seconds()).Scan(&token)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("postgres: claim partition %d: %w", part, err)
	}
	return token, true, nil
}

// RenewPartitions extends node's unexpired leases by ttl and returns them
// (partition -> token): a partition node thought it held and that is not
// returned was lost.
func (s *Store) RenewPartitions(ctx context.Context, node string, ttl time.Duration) (map[int]int64, error) {
	rows, err := s.pool.Query(ctx, queries.Get("partitions-renew"), node, ttl.Seconds())
	if err != nil {
		return nil, fmt.Errorf("postgres: renew the partitions of node %s: %w", node, err)
	}
	out := map[int]int64{}
	var part int
	var token int64
	if _, err := pgx.ForEachRow(rows, []any{&part, &token}, func() error { out[part] = token; return nil }); err != nil {
		return nil, fmt.Errorf("postgres: renew the partitions of node %s: %w", node, err)
	}
	return out, nil
}

// ReleasePartition frees partition part if node holds it.
func (s *Store) ReleasePartition(ctx context.Context, part int, node string) error {
	if _, err := s.pool.Exec(ctx, queries.Get("partition-release"), part, node); err != nil {
		return fmt.Errorf("postgres: release partition %d: %w", part, err)
	}
	return nil
}

// PartitionLease is a partition's lease as the database holds it.
type PartitionLease struct {
	Part    int
	Node    string // "": free
	Token   int64
	Expires time.Time
	Live    bool // held and unexpired
	MovedAt time.Time
}

// PartitionLeases returns every partition's lease.
func (s *Store) PartitionLeases(ctx context.Context) ([]PartitionLease, error) {
	rows, err := s.pool.Query(ctx, queries.Get("partition-leases"))
	if err != nil {
		return nil, fmt.Errorf("postgres: partition leases: %w", err)
	}
	var out []PartitionLease
	var l PartitionLease
	if _, err := pgx.ForEachRow(rows, []any{&l.Part, &l.Node, &l.Token, &l.Expires, &l.Live, &l.MovedAt}, func() error {
		out = append(out, l)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("postgres: partition leases: %w", err)
	}
	return out, nil
}

// Route is where an event goes: the partition of its profile, as the
// router resolved it, and for a Profile Merged event the merged profile
// and its partition.
type Route struct {
	Seq        int64
	Part       int
	Profile    int64
	Merged     int64
	MergedPart int // -1: not a merge
}

// ApplyRoutes records routes and advances the router's checkpoint to
// checkpoint, in one transaction. A route already recorded is kept (a
// replayed batch routes nothing differently).
func (s *Store) ApplyRoutes(ctx context.Context, consumer string, routes []Route, checkpoint int64) error {
	q := new(statements)
	for _, r := range routes {
		q.add("insert-route", r.Seq, r.Part, r.Profile, r.Merged, r.MergedPart)
	}
	if checkpoint > 0 {
		q.add("advance-checkpoint", consumer, checkpoint)
	}
	if err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return q.run(ctx, tx) }); err != nil {
		return fmt.Errorf("postgres: apply routes: %w", err)
	}
	return nil
}

// PartitionEvents returns up to limit events routed to part with seq in
// (after, upto], in log order, with their routes.
func (s *Store) PartitionEvents(ctx context.Context, part int, after, upto int64, limit int) ([]*event.Event, []Route, error) {
	rows, err := s.pool.Query(ctx, queries.Get("partition-routes"), part, after, upto, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: routes of partition %d: %w", part, err)
	}
	var routes []Route
	var r Route
	r.Part = part
	if _, err := pgx.ForEachRow(rows, []any{&r.Seq, &r.Profile, &r.Merged, &r.MergedPart}, func() error {
		routes = append(routes, r)
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("postgres: routes of partition %d: %w", part, err)
	}
	if len(routes) == 0 {
		return nil, nil, nil
	}
	seqs := make([]int64, len(routes))
	for i, r := range routes {
		seqs[i] = r.Seq
	}
	rows, err = s.pool.Query(ctx, queries.Get("events-by-seq"), seqs)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: events of partition %d: %w", part, err)
	}
	events, err := scanEvents(rows)
	if err != nil {
		return nil, nil, err
	}
	if len(events) != len(routes) {
		return nil, nil, fmt.Errorf("postgres: events of partition %d: %d routed, %d in the log (events %d-%d)", part, len(routes), len(events), seqs[0], seqs[len(seqs)-1])
	}
	return events, routes, nil
}
