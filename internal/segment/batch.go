package segment

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/profile"
)

// pageSize is how many profiles a scan, a backfill or a tick handles at a
// time; the live stage runs between two pages of a backfill.
const pageSize = 500

// FromTimeline computes a profile's facts from scratch: every event of its
// timeline observed into an empty state.
func (s *Stage) FromTimeline(ctx context.Context, set *Set, id int64, now time.Time) (*State, error) {
	st := NewState()
	if err := s.timeline(ctx, id, func(e *event.Event) { set.Observe(st, e, now) }); err != nil {
		return nil, err
	}
	set.Prune(st, now)
	return st, nil
}

// factsFor computes the facts of profiles (sorted ids) from scratch. A
// page of consecutive live profiles (as ListProfiles pages them) is read
// in one query of the events that matter; other sets of ids, a timeline
// at a time.
func (s *Stage) factsFor(ctx context.Context, set *Set, ids []int64, now time.Time, consecutive bool) (map[int64]*State, error) {
	out := make(map[int64]*State, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	from, to := ids[0], ids[len(ids)-1]
	if !consecutive {
		for _, id := range ids {
			st, err := s.FromTimeline(ctx, set, id, now)
			if err != nil {
				return nil, err
			}
			out[id] = st
		}
		return out, nil
	}
	for _, id := range ids {
		out[id] = NewState()
	}
	names, _ := set.needs()
	events, err := s.st.ProfileEvents(ctx, from, to, names)
	if err != nil {
		return nil, err
	}
	for _, pe := range events {
		if st, ok := out[pe.Profile]; ok {
			set.Observe(st, pe.Event, now)
		}
	}
	for _, st := range out {
		set.Prune(st, now)
	}
	return out, nil
}

// scan evaluates set over every live profile from scratch (no stored
// state) and calls fn with each result. Behaviour comes from the
// timelines, or, with index, from the behaviour index when it can answer
// every behaviour condition (the profiles are still read, for the other
// conditions); via says which: "timelines", "index+profiles", or
// "profiles" when no condition reads behaviour.
func (s *Stage) scan(ctx context.Context, set *Set, index bool, progress func(done, total int64), fn func(*profile.Profile, Result) error) (via string, err error) {
	now := s.o.Clock.Now()
	env := &profile.Env{Now: now, Stores: s.o.Stores, RFM: s.o.RFM()}
	var behaviour map[*Behaviour]bitset
	var known bitset
	if index && !set.context && s.o.Index.Ready() {
		if behaviour, known, err = s.o.Index.behaviour(set, now); err != nil {
			behaviour = nil // a property not indexed: the timelines
		}
	}
	switch {
	case behaviour == nil:
		via = "timelines"
	case len(behaviour) == 0:
		via = "profiles"
	default:
		via = "index+profiles"
	}
	return via, s.scanPages(ctx, set, env, behaviour, known, progress, fn)
}

func (s *Stage) scanPages(ctx context.Context, set *Set, env *profile.Env, behaviour map[*Behaviour]bitset, known bitset,
	progress func(done, total int64), fn func(*profile.Profile, Result) error) error {
	now := env.Now
	var done int64
	for after := int64(0); ; {
		page, err := s.st.ListProfiles(ctx, after, pageSize)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		ids := make([]int64, len(page))
		for i, p := range page {
			ids[i] = p.ID
		}
		var consent map[int64]map[string]bool
		if s.o.Consent != nil && set.consent {
			if consent, err = s.o.Consent(ctx, ids); err != nil {
				return err
			}
		}
		var facts map[int64]*State
		if behaviour == nil {
			if facts, err = s.factsFor(ctx, set, ids, now, true); err != nil {
				return err
			}
		}
		for _, p := range page {
			in := Input{Profile: p, State: facts[p.ID], Env: env, Consent: consent[p.ID], Suppressed: s.suppressed(ctx)}
			if behaviour != nil {
				id := uint32(p.ID)
				in.State = NewState()
				in.Performed = func(b *Behaviour) (bool, bool) {
					if !known.has(id) {
						return false, false // not seen by the index: no behaviour (the empty facts)
					}
					return behaviour[b].has(id), true
				}
			}
			if err := fn(p, set.Evaluate(in)); err != nil {
				return err
			}
		}
		after = page[len(page)-1].ID
		done += int64(len(page))
		if progress != nil {
			progress(done, 0)
		}
	}
}

// BatchMembers evaluates the live segments from scratch over every
// profile: what membership should be. Live membership must equal it.
func (s *Stage) BatchMembers(ctx context.Context) (map[string][]int64, error) {
	set := s.Set()
	out := map[string][]int64{}
	_, err := s.scan(ctx, set, false, nil, func(p *profile.Profile, res Result) error {
		for seg, in := range res.Members {
			if in {
				out[seg] = append(out[seg], p.ID)
			}
		}
		return nil
	})
	return out, err
}

// Backfill recomputes every profile's facts from its timeline and
// evaluates every live segment, recording (and announcing) the changes.
// It runs a page of profiles at a time, and the live stage runs between
// pages: facts are keyed by event, so an event seen by both counts once.
func (s *Stage) Backfill(ctx context.Context, progress func(done, total int64)) error {
	s.bfMu.Lock() // one backfill at a time
	defer s.bfMu.Unlock()
	total, err := s.st.ProfileCount(ctx)
	if err != nil {
		return err
	}
	s.bfTotal.Store(total)
	s.bfDone.Store(0)
	defer s.bfTotal.Store(0)
	var done int64
	for after := int64(0); ; {
		page, err := s.st.ListProfiles(ctx, after, pageSize)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		if err := s.backfillPage(ctx, page, true); err != nil {
			return err
		}
		after = page[len(page)-1].ID
		done += int64(len(page))
		s.bfDone.Store(done)
		if progress != nil {
			progress(done, total)
		}
	}
}

// backfillPage recomputes a page of profiles; consecutive says they are
// consecutive live profiles (a page of ListProfiles).
func (s *Stage) backfillPage(ctx context.Context, page []*profile.Profile, consecutive bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int64, len(page))
	for i, p := range page {
		ids[i] = p.ID
	}
	w, err := s.begin(ctx, ids)
	if err != nil {
		return err
	}
	facts, err := s.factsFor(ctx, s.set, ids, w.now, consecutive)
	if err != nil {
		return err
	}
	for _, p := range page {
		if _, live := w.profiles[p.ID]; !live {
			continue
		}
		fresh := facts[p.ID]
		old := w.state(p.ID)
		fresh.Members, fresh.Moves = old.Members, old.Moves
		w.states[p.ID] = fresh
		// A backfill (a segment saved or changed, an unmerge) finds who
		// already was in: no live cause, so its entries are history.
		w.touch(p.ID, "backfill", "b"+strconv.FormatInt(w.now.UnixMilli(), 10), time.Time{}).all = true
	}
	if err := w.evaluate(ctx); err != nil {
		return err
	}
	return s.commit(ctx, w)
}

// BackfillProgress reports the running backfill's progress (0, 0 when
// none runs).
func (s *Stage) BackfillProgress() (done, total int64) {
	return s.bfDone.Load(), s.bfTotal.Load()
}

// Tick evaluates the profiles whose timers are due: those whose
// memberships can change with time alone (a window passed, a birthday
// came). It returns how many profiles it evaluated.
func (s *Stage) Tick(ctx context.Context) (int, error) {
	total := 0
	s.mu.Lock()
	loaded := s.loaded
	s.mu.Unlock()
	if !loaded {
		return 0, nil
	}
	for {
		now := s.o.Clock.Now()
		due, err := s.st.DueSegmentTimers(ctx, now, pageSize)
		if err != nil {
			return total, err
		}
		if len(due) == 0 {
			return total, nil
		}
		if err := s.tickPage(ctx, due); err != nil {
			return total, err
		}
		total += len(due)
		if len(due) < pageSize {
			return total, nil
		}
	}
}

// TickRouted fires the due timers of one partition's profiles (owns says
// which; docs/scale.md): it looks at up to 10,000 due timers, the oldest
// first, and fires those of its profiles, writing with them the
// partition's checkpoint (consumer) unchanged, so that a partition that
// has moved to another node writes nothing (the fence, migration 0025).
// Every partition fires its share of the same oldest timers: none waits
// behind another's while their owners run.
func (s *Stage) TickRouted(ctx context.Context, consumer string, owns func(profile int64) bool) (int, error) {
	s.mu.Lock()
	loaded := s.loaded
	s.mu.Unlock()
	if !loaded {
		return 0, nil
	}
	due, err := s.st.DueSegmentTimers(ctx, s.o.Clock.Now(), 20*pageSize)
	if err != nil {
		return 0, err
	}
	var mine []int64
	for _, id := range due {
		if owns(id) {
			mine = append(mine, id)
		}
	}
	if len(mine) == 0 {
		return 0, nil
	}
	cp, err := s.st.Checkpoint(ctx, consumer)
	if err != nil || cp == 0 {
		return 0, err // a partition that has not started writes nothing yet
	}
	for start := 0; start < len(mine); start += pageSize {
		if err := s.tickPageAs(ctx, mine[start:min(start+pageSize, len(mine))], consumer, cp); err != nil {
			return start, err
		}
	}
	return len(mine), nil
}

func (s *Stage) tickPage(ctx context.Context, due []int64) error {
	return s.tickPageAs(ctx, due, "", 0)
}

// tickPageAs fires the timers of due; with a consumer, its checkpoint cp
// is written with them.
func (s *Stage) tickPageAs(ctx context.Context, due []int64, consumer string, cp int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.begin(ctx, due)
	if err != nil {
		return err
	}
	if consumer != "" {
		w.routed = true
		w.batch.Consumer, w.batch.Checkpoint = consumer, cp
		w.batch.Sizes = nil
	}
	for _, id := range due {
		if _, live := w.profiles[id]; !live {
			w.batch.Timers[id] = time.Time{} // merged or gone
			continue
		}
		// Time passing is news: a customer who lapses now, lapses now.
		t := w.touch(id, "time", "t", time.Time{})
		t.timed = true
		t.news().timed = true
	}
	if err := w.evaluate(ctx); err != nil {
		return err
	}
	if consumer != "" {
		w.batch.Sizes = nil
	}
	return s.commit(ctx, w)
}

// RunTimers fires due timers every interval until ctx ends.
func (s *Stage) RunTimers(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("segment: timers failed", "err", err)
		} else if n > 0 {
			s.log.Debug("segment: timers fired", "profiles", n)
		}
	}
}

// Rebuild recomputes the given profiles' facts from their timelines and
// evaluates them (after an unmerge moved events between profiles).
func (s *Stage) Rebuild(ctx context.Context, ids []int64) error {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	page, err := s.st.LoadProfiles(ctx, ids)
	if err != nil {
		return err
	}
	list := make([]*profile.Profile, 0, len(page))
	for _, id := range ids {
		if p, ok := page[id]; ok {
			list = append(list, p)
		}
	}
	if err := s.reindex(ctx, ids); err != nil {
		return err
	}
	if len(list) == 0 {
		return nil
	}
	return s.backfillPage(ctx, list, false)
}
