package journey

import (
	"context"
	"fmt"
	"time"
)

// scheduleCheckpoint names the checkpoint that remembers a schedule's
// last run (its instant, in Unix seconds).
func scheduleCheckpoint(journey string, i int) string {
	return fmt.Sprintf("journey-schedule:%s:%d", journey, i)
}

// lastOccurrence is the latest instant at or before now at which s runs.
func (s *Schedule) lastOccurrence(now time.Time) time.Time {
	loc, err := zone(s.Zone)
	if err != nil {
		loc = time.UTC
	}
	off, _ := parseClock(s.At)
	h, m := int(off/time.Hour), int(off%time.Hour/time.Minute)
	l := now.In(loc)
	t := time.Date(l.Year(), l.Month(), l.Day(), h, m, 0, 0, loc)
	if t.After(now) {
		t = time.Date(l.Year(), l.Month(), l.Day()-1, h, m, 0, 0, loc)
	}
	return t.UTC()
}

// NextRun returns the next instant after now at which a live journey's
// schedule runs; zero if none has one. The simulator stops its clock
// there.
func (e *Engine) NextRun() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.o.Clock.Now()
	var next time.Time
	for _, id := range e.sortedLive() {
		for _, t := range e.latest[id].def.Triggers {
			if t.Schedule == nil {
				continue
			}
			last := t.Schedule.lastOccurrence(now)
			loc, _ := zone(t.Schedule.Zone)
			l := last.In(loc)
			n := time.Date(l.Year(), l.Month(), l.Day()+1, l.Hour(), l.Minute(), 0, 0, loc).UTC()
			if next.IsZero() || n.Before(next) {
				next = n
			}
		}
	}
	return next
}

// runSchedules runs the schedules whose instant has come since their last
// run: each offers entry to the segment's members, a page at a time, then
// records the run. A schedule seen for the first time records the last
// instant without running: it first runs at the next one. Lock should be
// held.
func (e *Engine) runSchedules(ctx context.Context) error {
	now := e.o.Clock.Now()
	for _, id := range e.sortedLive() {
		p := e.latest[id]
		for i, t := range p.def.Triggers {
			if t.Schedule == nil {
				continue
			}
			name := scheduleCheckpoint(id, i)
			done, err := e.st.Checkpoint(ctx, name)
			if err != nil {
				return err
			}
			due := t.Schedule.lastOccurrence(now)
			if done >= due.Unix() {
				continue
			}
			if done > 0 {
				if err := e.enrolSegment(ctx, p, t.Schedule, due); err != nil {
					return err
				}
			}
			if err := e.st.SaveCheckpoint(ctx, name, due.Unix()); err != nil {
				return err
			}
		}
	}
	return nil
}

// enrolSegment offers entry to every member of a schedule's segment.
// Lock should be held.
func (e *Engine) enrolSegment(ctx context.Context, p *program, s *Schedule, at time.Time) error {
	why := fmt.Sprintf("schedule: %s %s, segment %s", s.At, zoneName(s.Zone), s.Segment)
	var after int64
	entered := 0
	for {
		members, err := e.st.SegmentMembers(ctx, s.Segment, after, 1000)
		if err != nil || len(members) == 0 {
			e.log.Info("journey: scheduled entry", "journey", p.def.ID, "segment", s.Segment, "at", at, "entered", entered)
			return err
		}
		ids := make([]int64, len(members))
		for i, m := range members {
			ids[i] = m.Profile
		}
		after = ids[len(ids)-1]
		b, err := e.begin(ctx, ids)
		if err != nil {
			return err
		}
		if p.entryProfiles {
			if b.profiles, b.segs, err = e.loadProfiles(ctx, ids); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if en, _ := e.enter(b, p, id, why, nil); en != nil {
				entered++
			}
		}
		if err := e.st.ApplyJourneys(ctx, b.write("", 0)); err != nil {
			return err
		}
		if len(b.inserts) > 0 {
			e.Wake()
		}
	}
}

func zoneName(z string) string {
	if z == "" {
		return "UTC"
	}
	return z
}
