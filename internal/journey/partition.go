package journey

import (
	"context"
	"slices"

	"github.com/parcours/parcours/internal/event"
)

// Routed is how a partition of the journey stage (docs/scale.md
// "Partitions that respect identity") hands it a batch: each event's
// profile as the router resolved it once for every partition (a later
// merge must not move an event to another partition's profile), the
// partition's checkpoint name ("journey.p3") and the checkpoint the batch
// brings it to (past the last event: the events between are other
// partitions').
type Routed struct {
	Consumer   string
	Checkpoint int64
	Owners     []int64
	Merges     map[int][2]int64
}

// ProcessRouted applies a partition's batch (possibly empty: only its
// checkpoint moves) with the profiles r gives: the enrolments it writes
// and the checkpoint go in one transaction, which PostgreSQL refuses
// (SQLSTATE PF002) once the partition has moved to another node, so an
// enrolment is made once across rebalances. The due steps (sends) are
// run by Tick, as without partitions.
func (e *Engine) ProcessRouted(ctx context.Context, events []*event.Event, r Routed) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.process(ctx, events, r.Consumer, r.Checkpoint, func(context.Context, []*event.Event) ([]int64, map[int][2]int64, error) {
		return slices.Clone(r.Owners), r.Merges, nil
	})
}
