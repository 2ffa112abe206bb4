package journey

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// MigrateResult says what a migration did.
type MigrateResult struct {
	Journey string `json:"journey_id"`
	From    int    `json:"from_version"`
	To      int    `json:"to_version"`
	Moved   int    `json:"moved"`
	// Kept counts, per step, the enrolments left on their version because
	// the new version has no step of the same kind at that address.
	Kept map[string]int `json:"kept"`
}

// Migrate moves the active enrolments of one version of a journey to its
// latest version, on request: customers otherwise finish on the version
// they entered. An enrolment moves when the latest version has a step of
// the same kind at its step's address (it keeps its place and its timer);
// the others stay on their version, counted by step in the result.
func (e *Engine) Migrate(ctx context.Context, journey string, from int) (*MigrateResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	to := e.latest[journey]
	if to == nil {
		return nil, problem.NotFound("journey", journey)
	}
	if from <= 0 || from >= to.version {
		return nil, invalid(journey, "from_version",
			fmt.Sprintf("must be an earlier version than the latest (%d)", to.version))
	}
	old, err := e.program(ctx, journey, from)
	if err != nil {
		return nil, err
	}
	res := &MigrateResult{Journey: journey, From: from, To: to.version, Kept: map[string]int{}}
	now := e.o.Clock.Now()
	var after int64
	for {
		page, err := e.st.ActiveEnrolments(ctx, journey, from, after, 1000)
		if err != nil || len(page) == 0 {
			return res, err
		}
		var moved []*store.Enrolment
		for _, en := range page {
			after = en.ID
			was, is := old.nodes[en.Step], to.nodes[en.Step]
			if was == nil || is == nil || was.step.Kind() != is.step.Kind() {
				res.Kept[en.Step]++
				continue
			}
			en.Version, en.UpdatedAt = to.version, now
			moved = append(moved, en)
		}
		if len(moved) > 0 {
			if err := e.st.ApplyJourneys(ctx, &store.JourneyBatch{Update: moved, At: now}); err != nil {
				return res, err
			}
		}
		res.Moved += len(moved)
		e.log.Info("journey: migrated enrolments", "journey", journey, "from", from, "to", to.version,
			"moved", len(moved), "kept_at", slices.Sorted(maps.Keys(res.Kept)))
	}
}
