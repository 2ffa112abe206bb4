package pipeline

import (
	"context"
	"fmt"
	"slices"

	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/segment"
)

// Unmerge undoes one merge of profile id (mergeID, from its merge log)
// and rebuilds what derives from the profiles it splits: the events moved
// between profiles, so their segment facts, memberships and behaviour
// index rows are computed again from their timelines. It returns the
// profiles the events now belong to. POST /api/v1/profiles/{id}/unmerge
// and parcours profiles unmerge (while serve is stopped) both call it;
// the segments must be loaded (serve's Start, or Segments.Load).
func (p *Pipeline) Unmerge(ctx context.Context, id, mergeID int64) ([]int64, error) {
	owners, err := p.Unify.Unmerge(ctx, id, mergeID)
	if err != nil {
		return nil, err
	}
	if err := p.Segments.Rebuild(ctx, slices.Concat(owners, []int64{id})); err != nil {
		return nil, fmt.Errorf("unmerge of profile %d: segments: %w", id, err)
	}
	return owners, nil
}

// Progress follows a long rebuild: stage is "events" (done and total are
// sequence numbers), then "profiles" (counts), then "index" (once, when
// the behaviour index starts being rebuilt; done and total are 0).
type Progress func(stage string, done, total int64)

// Replay rebuilds everything derived from the profiles from the event log,
// with the configured rules: every profile (the whole log applied again),
// segment memberships (forgotten, then backfilled from the timelines), the
// behaviour index (indexed again: the profiles it named have new ids) and
// the measurement rollups (forgotten: the measure stage counts them again
// when it next runs). Nothing else may write the store meanwhile; build
// the pipeline without Runtime.Emit, so that nothing is announced again
// (the first run did). progress may be nil.
func (p *Pipeline) Replay(ctx context.Context, progress Progress) error {
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	if err := p.Unify.Replay(ctx, func(done, last int64) { progress("events", done, last) }); err != nil {
		return err
	}
	if err := p.replaySegments(ctx, progress); err != nil {
		return err
	}
	progress("index", 0, 0)
	if err := p.Segments.ResetIndex(ctx); err != nil {
		return fmt.Errorf("replay: behaviour index: %w", err)
	}
	if err := p.st.ResetMeasure(ctx, measure.Consumer, p.cfg.Zone.String()); err != nil {
		return fmt.Errorf("replay: measure: %w", err)
	}
	return nil
}

// replaySegments forgets the memberships and backfills every profile from
// its timeline, then puts the stage's checkpoint at the end of the log.
func (p *Pipeline) replaySegments(ctx context.Context, progress Progress) error {
	if err := p.st.ResetSegments(ctx, segment.Consumer); err != nil {
		return fmt.Errorf("replay: segments: %w", err)
	}
	last, err := p.st.LastSeq(ctx)
	if err != nil {
		return err
	}
	if err := p.Segments.Load(ctx); err != nil {
		return err
	}
	if len(p.Segments.Set().Definitions()) > 0 {
		if err := p.Segments.Backfill(ctx, func(done, total int64) { progress("profiles", done, total) }); err != nil {
			return fmt.Errorf("replay: segments: %w", err)
		}
	}
	return p.st.SaveCheckpoint(ctx, segment.Consumer, last)
}
