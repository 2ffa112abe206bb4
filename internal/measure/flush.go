package measure

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/store"
)

// cellKey names one counter.
type cellKey struct {
	day                int32
	metric, dim, value string
}

// touchKey names one touch (one per profile, kind, channel, campaign and
// day).
type touchKey struct {
	profile                 int64
	kind, channel, campaign string
	day                     int32
}

// pending is what the batches since the last flush changed.
type pending struct {
	cells   map[cellKey]int64
	orders  map[string]*store.MeasureOrder
	touches map[touchKey]time.Time
	merges  []store.ProfileMerge
	// mergedInto maps the profiles merged since the last flush to the
	// profile they joined (their stored orders still name them).
	mergedInto map[int64]int64
	last       int64       // the last seq counted
	received   []time.Time // when each batch's first event was received
}

func newPending() *pending {
	return &pending{cells: map[cellKey]int64{}, orders: map[string]*store.MeasureOrder{}, touches: map[touchKey]time.Time{},
		mergedInto: map[int64]int64{}}
}

// add adds n to the metric of a day, for the total and for each dimension
// value of dims (pairs of dimension and value; an empty value is skipped).
func (p *pending) add(day int32, metric string, n int64, dims ...string) {
	p.cells[cellKey{day, metric, "", ""}] += n
	for i := 0; i+1 < len(dims); i += 2 {
		if dims[i+1] != "" {
			p.cells[cellKey{day, metric, dims[i], dims[i+1]}] += n
		}
	}
}

// touch records a touch, keeping its earliest time.
func (p *pending) touch(k touchKey, at time.Time) {
	if t, ok := p.touches[k]; !ok || at.Before(t) {
		p.touches[k] = at
	}
}

// flush writes what is pending, with the checkpoint, in one transaction.
// Lock should be held.
func (s *Stage) flush(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	if s.p.last <= s.checkpoint {
		return nil
	}
	start := time.Now()
	b := &store.MeasureBatch{Consumer: Consumer, From: s.checkpoint, Checkpoint: s.p.last, Merges: s.p.merges}
	for k, n := range s.p.cells {
		if n != 0 {
			b.Cells = append(b.Cells, store.MeasureCell{Day: k.day, Metric: k.metric, Dim: k.dim, Value: k.value, N: n})
		}
	}
	// A stable order: the same rows in the same order take the same locks
	// in PostgreSQL.
	slices.SortFunc(b.Cells, func(x, y store.MeasureCell) int {
		return cmp.Or(strings.Compare(x.Metric, y.Metric), strings.Compare(x.Dim, y.Dim), cmp.Compare(x.Day, y.Day), strings.Compare(x.Value, y.Value))
	})
	sets, err := s.sets.changed(s.p.last)
	if err != nil {
		return s.broken(err)
	}
	b.Sets = sets
	for _, o := range s.p.orders {
		b.Orders = append(b.Orders, o)
	}
	slices.SortFunc(b.Orders, func(x, y *store.MeasureOrder) int { return strings.Compare(x.ID, y.ID) })
	for k, at := range s.p.touches {
		b.Touches = append(b.Touches, store.MeasureTouch{Profile: k.profile, Kind: k.kind, Channel: k.channel, Campaign: k.campaign, Day: k.day, At: at})
	}
	slices.SortFunc(b.Touches, func(x, y store.MeasureTouch) int {
		return cmp.Or(cmp.Compare(x.Profile, y.Profile), strings.Compare(x.Kind, y.Kind), strings.Compare(x.Channel, y.Channel),
			strings.Compare(x.Campaign, y.Campaign), cmp.Compare(x.Day, y.Day))
	})
	for id := range s.prof.dirty {
		if _, merged := s.p.mergedInto[id]; merged && s.prof.get(id).none() {
			continue // deleted by its merge
		}
		b.Profiles = append(b.Profiles, s.prof.record(id))
	}
	slices.SortFunc(b.Profiles, func(x, y store.MeasureProfile) int { return cmp.Compare(x.ID, y.ID) })
	if err := s.st.ApplyMeasure(ctx, b); err != nil {
		return s.broken(err)
	}
	s.o.Metrics.flushed(b, s.p.received, s.o.Clock.Now(), time.Since(start))
	s.checkpoint, s.flushedAt = s.p.last, time.Now()
	s.p = newPending()
	clear(s.prof.dirty)
	s.sets.flushed(s.maxDay - 1)
	s.Processed.Publish(s.checkpoint)
	return nil
}

// broken records that the state in memory is no longer the stored one
// plus what is pending: the stage must load it again (Run does).
func (s *Stage) broken(err error) error {
	if errors.Is(err, store.ErrConflict) {
		err = fmt.Errorf("%w (another process or a rebuild wrote the rollups meanwhile; the stage reloads them)", err)
	}
	s.fail(fmt.Errorf("measure: write the rollups: %w", err))
	return s.err
}
