package partition

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/store/postgres"
)

// Leases is where the coordinator keeps the nodes' heartbeats and the
// partitions' leases: *postgres.Store (migration 0025).
type Leases interface {
	EnsurePartitions(ctx context.Context, n int) error
	Heartbeat(ctx context.Context, node, address string) error
	LeaveCluster(ctx context.Context, node string) error
	LiveNodes(ctx context.Context, ttl time.Duration) ([]postgres.ClusterNode, error)
	ClaimPartition(ctx context.Context, part int, node string, ttl time.Duration) (int64, bool, error)
	RenewPartitions(ctx context.Context, node string, ttl time.Duration) (map[int]int64, error)
	ReleasePartition(ctx context.Context, part int, node string) error
}

// RunFunc runs the stages of partition part, under the fence token token,
// until ctx ends; an error ends the run, which the coordinator starts
// again at its next round if the partition is still this node's.
type RunFunc func(ctx context.Context, part int, token int64) error

// Coordinator holds this node's share of the partitions: every Every it
// renews its heartbeat and its leases, computes from the live nodes which
// partitions are its own (Assign), releases those that are not any more
// (once their run has stopped) and claims those that are (once their
// previous holder released them, or its lease expired).
type Coordinator struct {
	Leases     Leases
	Node       string
	Address    string
	Partitions int
	Run        RunFunc
	// TTL is how long a heartbeat and a lease last without renewal
	// (default 5 s): a dead node's partitions are claimed by the others
	// within TTL + Every (measured 7.3-8.7 s on a machine at load 30,
	// whose timers ran late).
	TTL time.Duration
	// Every is how often the coordinator renews and rebalances (default 1 s).
	Every  time.Duration
	Logger *slog.Logger
	// Metrics, if set, count the rebalances.
	Metrics *Metrics

	mu      sync.Mutex
	running map[int]*run
	renewed time.Time // the last renewal that succeeded
}

type run struct {
	token  int64
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Metrics are the coordinator's: partitions held and the moves.
type Metrics struct {
	Held  prometheus.Gauge
	Moves *prometheus.CounterVec // event: acquired, released, lost
}

// NewMetrics registers the partition metrics with r.
func NewMetrics(r prometheus.Registerer) *Metrics {
	m := &Metrics{
		Held: prometheus.NewGauge(prometheus.GaugeOpts{Name: "parcours_partitions_held",
			Help: "Partitions of the pipeline this node holds (runs the stages of)."}),
		Moves: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "parcours_partition_moves_total",
			Help: "Partitions acquired, released (rebalance, shutdown) or lost (lease expired, fenced) by this node."}, []string{"event"}),
	}
	r.MustRegister(m.Held, m.Moves)
	return m
}

func (c *Coordinator) defaults() {
	if c.TTL <= 0 {
		c.TTL = 5 * time.Second
	}
	if c.Every <= 0 {
		c.Every = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Held returns the partitions this node runs now, sorted.
func (c *Coordinator) Held() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []int{}
	for p := range c.running {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Start runs the coordinator until ctx ends: then it stops its partitions,
// releases them and leaves the cluster, so that the others take over at
// their next round.
func (c *Coordinator) Start(ctx context.Context) error {
	c.defaults()
	if err := c.Leases.EnsurePartitions(ctx, c.Partitions); err != nil {
		return err
	}
	c.mu.Lock()
	c.running = map[int]*run{}
	c.mu.Unlock()
	t := time.NewTicker(c.Every)
	defer t.Stop()
	for {
		if err := c.Round(ctx); err != nil && ctx.Err() == nil {
			c.Logger.Warn("partitions: round failed", "node", c.Node, "err", err)
		}
		select {
		case <-ctx.Done():
			c.stopAll(true)
			bg, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := c.Leases.LeaveCluster(bg, c.Node)
			cancel()
			return err
		case <-t.C:
		}
	}
}

// Round is one heartbeat, renewal and rebalance.
func (c *Coordinator) Round(ctx context.Context) error {
	c.mu.Lock()
	if c.running == nil {
		c.running = map[int]*run{}
	}
	c.mu.Unlock()
	began := time.Now()
	held, err := c.renew(ctx)
	if err != nil {
		// Cut off from the database (or paused): once the leases may have
		// expired, another node may run the partitions; stop ours (their
		// checkpoints would be refused anyway).
		if !c.renewed.IsZero() && time.Since(c.renewed) >= c.selfFence() {
			if len(c.snapshot()) > 0 {
				c.Logger.Warn("partitions: leases not renewed within their TTL; stopping this node's partitions", "node", c.Node, "err", err)
				for p := range c.snapshot() {
					c.stop(p, false)
					c.count("lost")
				}
			}
		}
		return err
	}
	c.renewed = began
	// Lost: the lease expired (this node was paused or cut off) or was
	// taken. Its writes are refused already; stop what still runs.
	for p, r := range c.snapshot() {
		if tok, ok := held[p]; !ok || tok != r.token {
			c.Logger.Warn("partitions: lost a partition", "node", c.Node, "partition", p)
			c.stop(p, false)
			c.count("lost")
		}
	}
	// A run that ended by itself (an error) is started again below if
	// the partition is still this node's.
	for p, r := range c.snapshot() {
		select {
		case <-r.done:
			if r.err != nil && ctx.Err() == nil {
				c.Logger.Warn("partitions: a partition's run failed; it starts again", "node", c.Node, "partition", p, "err", r.err)
			}
			c.stop(p, false)
		default:
		}
	}
	live, err := c.Leases.LiveNodes(ctx, c.TTL)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(live))
	for _, n := range live {
		names = append(names, n.Node)
	}
	if !slices.Contains(names, c.Node) {
		names = append(names, c.Node)
		slices.Sort(names)
	}
	owner := Assign(names, c.Partitions)
	for p, r := range c.snapshot() {
		if owner[p] != c.Node {
			_ = r
			c.stop(p, true)
			c.count("released")
		}
	}
	running := c.snapshot()
	var errs []error
	for p := range c.Partitions {
		if owner[p] != c.Node || running[p] != nil {
			continue
		}
		tok, ok, err := c.Leases.ClaimPartition(ctx, p, c.Node, c.TTL)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !ok {
			continue // its holder has not let it go yet
		}
		c.start(ctx, p, tok)
		c.count("acquired")
	}
	if c.Metrics != nil {
		c.Metrics.Held.Set(float64(len(c.snapshot())))
	}
	return errors.Join(errs...)
}

// selfFence is how long after its last renewal a node cut off from the
// database stops its partitions: before the leases expire (TTL, by the
// database's clock, counted from a renewal that began after this node's
// clock was read), so that the next holder does not start beside it. A
// paused node cannot stop itself: the fence on the checkpoints is what
// keeps its writes out then.
func (c *Coordinator) selfFence() time.Duration {
	return max(c.TTL/2, c.TTL-2*c.Every)
}

func (c *Coordinator) renew(ctx context.Context) (map[int]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, c.TTL/3)
	defer cancel()
	if err := c.Leases.Heartbeat(ctx, c.Node, c.Address); err != nil {
		return nil, err
	}
	return c.Leases.RenewPartitions(ctx, c.Node, c.TTL)
}

func (c *Coordinator) count(event string) {
	if c.Metrics != nil {
		c.Metrics.Moves.WithLabelValues(event).Inc()
	}
}

func (c *Coordinator) snapshot() map[int]*run {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[int]*run, len(c.running))
	for p, r := range c.running {
		out[p] = r
	}
	return out
}

func (c *Coordinator) start(ctx context.Context, p int, token int64) {
	rctx, cancel := context.WithCancel(ctx)
	r := &run{token: token, cancel: cancel, done: make(chan struct{})}
	c.mu.Lock()
	c.running[p] = r
	c.mu.Unlock()
	c.Logger.Info("partitions: running a partition", "node", c.Node, "partition", p, "token", token)
	go func() {
		defer close(r.done)
		r.err = c.Run(rctx, p, token)
	}()
}

// stop ends partition p's run and waits for it; release frees its lease
// after, for the node it is assigned to now.
func (c *Coordinator) stop(p int, release bool) {
	c.mu.Lock()
	r := c.running[p]
	delete(c.running, p)
	c.mu.Unlock()
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
	if release {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Leases.ReleasePartition(ctx, p, c.Node); err != nil {
			c.Logger.Warn("partitions: release failed (the lease expires by itself)", "node", c.Node, "partition", p, "err", err)
		}
	}
}

func (c *Coordinator) stopAll(release bool) {
	for p := range c.snapshot() {
		c.stop(p, release)
		c.count("released")
	}
	if c.Metrics != nil {
		c.Metrics.Held.Set(0)
	}
}
