package segment

import (
	"context"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/eventlog"
	"github.com/parcours/parcours/internal/store"
)

// RunIndex keeps the behaviour index: it first indexes the events the
// stage has passed that the index has not seen (all of the log for a new
// index; a few seconds of it after a crash), after which the stage adds
// each batch it handles; then it writes the index every interval, and
// once more when ctx ends. Without an index it returns at once.
func (s *Stage) RunIndex(ctx context.Context, every time.Duration) error {
	x := s.o.Index
	if x == nil {
		return nil
	}
	defer func() {
		if err := x.Flush(); err != nil {
			s.log.Error("segment: write the behaviour index", "err", err)
		}
	}()
	if err := s.CatchUpIndex(ctx); err != nil {
		return err
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := x.Flush(); err != nil {
			s.log.Error("segment: write the behaviour index", "err", err)
		}
	}
}

// CatchUpIndex indexes the events between the index's last one and the
// stage's checkpoint, then hands the index over to the stage. The last
// step holds the stage's lock, so that no batch falls between the two.
func (s *Stage) CatchUpIndex(ctx context.Context) error {
	x := s.o.Index
	if x == nil || x.Ready() {
		return nil
	}
	start, from := time.Now(), x.Upto()
	lastLog, flushed := time.Now(), time.Now()
	for {
		cp, err := s.st.Checkpoint(ctx, Consumer)
		if err != nil {
			return fmt.Errorf("segment: behaviour index: %w", err)
		}
		if x.Upto() >= cp {
			s.mu.Lock()
			cp, err = s.st.Checkpoint(ctx, Consumer)
			if err == nil && x.Upto() >= cp {
				x.mu.Lock()
				x.ready = true
				x.mu.Unlock()
			}
			s.mu.Unlock()
			if err != nil {
				return fmt.Errorf("segment: behaviour index: %w", err)
			}
			if x.Ready() {
				if x.Upto() > from {
					s.log.Info("segment: behaviour index caught up", "seq", x.Upto(), "took", since(start))
					return x.Flush()
				}
				return nil
			}
			continue
		}
		for x.Upto() < cp {
			// Ingestion first: wait while it is saturated (at most 1 s).
			eventlog.YieldTo(ctx, s.o.Yield, time.Second)
			batch, err := s.st.ReadAfter(ctx, x.Upto(), 2000)
			if err != nil {
				return fmt.Errorf("segment: behaviour index: %w", err)
			}
			n := 0
			for n < len(batch) && batch[n].Seq <= cp {
				n++
			}
			if n == 0 {
				break
			}
			batch = batch[:n]
			owners, merges, err := s.resolve(ctx, batch)
			if err != nil {
				return err
			}
			x.add(batch, owners, merges)
			if time.Since(lastLog) > 10*time.Second {
				lastLog = time.Now()
				s.log.Info("segment: building the behaviour index", "seq", x.Upto(), "of", cp)
			}
			if time.Since(flushed) > time.Minute {
				flushed = time.Now()
				if err := x.Flush(); err != nil {
					return err
				}
			}
		}
	}
}

// timeline reads a profile's whole timeline.
func (s *Stage) timeline(ctx context.Context, id int64, fn func(*event.Event)) error {
	q := store.TimelineQuery{Profile: id, Limit: 1000}
	for {
		events, err := s.st.Timeline(ctx, q)
		if err != nil {
			return fmt.Errorf("segment: timeline of %d: %w", id, err)
		}
		for _, e := range events {
			fn(e)
		}
		if len(events) < q.Limit {
			return nil
		}
		last := events[len(events)-1]
		q.BeforeAt, q.BeforeSeq = last.Timestamp, last.Seq
	}
}

// reindex rebuilds the index rows of profiles from their timelines.
func (s *Stage) reindex(ctx context.Context, ids []int64) error {
	x := s.o.Index
	if x == nil {
		return nil
	}
	timelines := map[int64][]*event.Event{}
	for _, id := range ids {
		if err := s.timeline(ctx, id, func(e *event.Event) { timelines[id] = append(timelines[id], e) }); err != nil {
			return err
		}
	}
	x.reassign(ids, timelines)
	return x.Flush()
}

// indexPreview evaluates set from the index, if it can answer every
// condition: ok false otherwise.
func (s *Stage) indexPreview(set *Set, id string, sample int) (*Preview, bool) {
	x := s.o.Index
	if !x.Ready() || !set.indexable() {
		return nil, false
	}
	m, err := x.members(set, s.o.Clock.Now())
	if err != nil {
		return nil, false // a property not indexed: from the timelines
	}
	out := &Preview{Profiles: int64(x.Stats().Profiles), Via: "index"}
	out.Size = int64(m[id].count())
	m[id].each(func(p uint32) bool {
		if len(out.SampleID) >= sample {
			return false
		}
		out.SampleID = append(out.SampleID, int64(p))
		return true
	})
	return out, true
}

// ResetIndex empties the behaviour index, for the profiles it names are
// gone (a replay rebuilds them with new ids), and indexes the log again up
// to the stage's checkpoint; with a file, the file is rewritten with what
// it then holds. Nothing may process events meanwhile.
func (s *Stage) ResetIndex(ctx context.Context) error {
	x := s.o.Index
	if x == nil {
		return nil
	}
	x.flushMu.Lock()
	x.mu.Lock()
	fresh := NewIndex()
	x.parts, x.seen, x.alias, x.upto, x.ready, x.rows = fresh.parts, nil, fresh.alias, 0, false, 0
	x.chans, x.chanCode, x.newSeen, x.newAlias = fresh.chans, fresh.chanCode, nil, nil
	x.dirty = true // the next flush replaces the file
	x.mu.Unlock()
	x.flushMu.Unlock()
	if err := s.CatchUpIndex(ctx); err != nil {
		return err
	}
	return x.Flush()
}
