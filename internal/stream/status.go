package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/parcours/parcours/internal/store"
)

// nodePrefix prefixes the presence key each live node renews in the lease
// bucket (it expires LeaseTTL after the node's last renewal).
const nodePrefix = "node."

// NodeInfo is what a node says of itself in its presence key.
type NodeInfo struct {
	Node    string    `json:"node"`
	Addr    string    `json:"addr,omitempty"`
	Started time.Time `json:"started"`
}

// Announce keeps this node's presence key alive until ctx ends, so that
// `parcours cluster status` lists it; it deletes the key when ctx ends.
func (s *Stream) Announce(ctx context.Context, info NodeInfo) {
	info.Node = s.opts.Node
	data, _ := json.Marshal(info)
	key := nodePrefix + s.opts.Node
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, leaseRenew)
		if _, err := s.leases.Put(pctx, key, data); err != nil && ctx.Err() == nil {
			s.log.Warn("cluster: presence not renewed", "node", s.opts.Node, "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = s.leases.Delete(dctx, key)
			cancel()
			return
		case <-t.C:
		}
	}
}

// Status is the cluster as one node sees it.
type Status struct {
	// Node is the node asking; Connected whether it reaches NATS now, and
	// Server the NATS server it is connected to.
	Node      string `json:"node,omitempty"`
	Connected bool   `json:"connected"`
	Server    string `json:"server,omitempty"`
	Stream    string `json:"stream"`
	Replicas  int    `json:"replicas"`
	// Messages and LastSeq describe the stream; Relayed is the relay's
	// checkpoint (the last stream sequence in the event log) and Lag the
	// stream messages past it.
	Messages uint64 `json:"stream_messages"`
	LastSeq  uint64 `json:"stream_last_seq"`
	Relayed  int64  `json:"relayed_seq"`
	Lag      int64  `json:"relay_lag"`
	// Nodes are the live nodes (their presence keys); Leases who holds
	// each lease.
	Nodes  []NodeInfo        `json:"nodes"`
	Leases map[string]string `json:"leases"`
}

// Status reads the stream's state, the live nodes and the leases, and the
// relay's checkpoint in cp.
func (s *Stream) Status(ctx context.Context, cp store.Checkpoints) (Status, error) {
	st := Status{Node: s.opts.Node, Connected: s.nc.IsConnected(), Server: s.nc.ConnectedUrlRedacted(),
		Stream: s.opts.Name, Leases: map[string]string{}}
	str, err := s.js.Stream(ctx, s.opts.Name)
	if err != nil {
		return st, fmt.Errorf("stream: look up %s: %w", s.opts.Name, err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		return st, fmt.Errorf("stream: info of %s: %w", s.opts.Name, err)
	}
	st.Messages, st.LastSeq, st.Replicas = info.State.Msgs, info.State.LastSeq, info.Config.Replicas
	if st.Relayed, err = cp.Checkpoint(ctx, RelayCheckpoint); err != nil {
		return st, fmt.Errorf("stream: relay checkpoint: %w", err)
	}
	st.Lag = max(int64(st.LastSeq)-st.Relayed, 0)
	keys, err := s.leases.ListKeys(ctx)
	if err != nil {
		return st, fmt.Errorf("stream: list %s_LEASES: %w", s.opts.Name, err)
	}
	for k := range keys.Keys() {
		e, err := s.leases.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue // expired between the listing and the read
		}
		if err != nil {
			return st, fmt.Errorf("stream: read %s: %w", k, err)
		}
		if node, ok := strings.CutPrefix(k, nodePrefix); ok {
			n := NodeInfo{Node: node}
			_ = json.Unmarshal(e.Value(), &n)
			st.Nodes = append(st.Nodes, n)
			continue
		}
		st.Leases[k] = string(e.Value())
	}
	sort.Slice(st.Nodes, func(i, j int) bool { return st.Nodes[i].Node < st.Nodes[j].Node })
	return st, nil
}
