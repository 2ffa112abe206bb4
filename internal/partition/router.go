package partition

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store/postgres"
	"github.com/parcours/parcours/internal/unify"
)

// RouterConsumer is the router's checkpoint name: partitions read no
// further.
const RouterConsumer = "route"

// RouterStore is what the router reads and writes (*postgres.Store).
type RouterStore interface {
	eventlog.Checkpointed
	SaveCheckpoint(ctx context.Context, consumer string, seq int64) error
	unify.Holders
	ApplyRoutes(ctx context.Context, consumer string, routes []postgres.Route, checkpoint int64) error
}

// Router gives every event of the log its partition, behind unify, in log
// order: the partition of the profile it belongs to once unify has
// handled it (unify.Owners: an internal event names its profile; another
// is its identifiers' holder's), recorded once with the router's
// checkpoint in one transaction. A batch handed over again after a crash
// routes nothing differently: recorded routes are kept.
type Router struct {
	Store      RouterStore
	Rules      *identity.Rules // nil: the defaults
	Partitions int
	BatchSize  int // default 2,000
}

// Run follows the log behind unify until ctx ends; unifyDone, if set, is
// published by unify after each batch.
func (r *Router) Run(ctx context.Context, unifyDone *eventlog.Notifier) error {
	size := r.BatchSize
	if size <= 0 {
		size = 2000
	}
	c := &eventlog.Consumer{Name: RouterConsumer, Log: eventlog.Behind{Log: r.Store, Behind: []string{unify.Consumer}},
		Checkpoints: r.Store, Notifier: unifyDone, BatchSize: size, Poll: 200 * time.Millisecond, HandlerCheckpoints: true}
	return c.Run(ctx, r.Route)
}

// Route routes one batch of the log (already unified) and saves the
// router's checkpoint.
func (r *Router) Route(ctx context.Context, batch []*event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	rules := r.Rules
	if rules == nil {
		rules = identity.DefaultRules()
	}
	owners, merges, err := unify.Owners(ctx, r.Store, rules, batch)
	if err != nil {
		return err
	}
	routes := make([]postgres.Route, len(batch))
	for i, e := range batch {
		routes[i] = postgres.Route{Seq: e.Seq, Part: Of(owners[i], r.Partitions), Profile: owners[i], MergedPart: -1}
		if m, ok := merges[i]; ok {
			routes[i].Merged, routes[i].MergedPart = m[1], Of(m[1], r.Partitions)
		}
	}
	return r.Store.ApplyRoutes(ctx, RouterConsumer, routes, batch[len(batch)-1].Seq)
}
