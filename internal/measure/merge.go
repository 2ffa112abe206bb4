package measure

import (
	"context"

	"github.com/parcours/parcours/internal/store"
)

// merge makes merged part of into, as unify did: merged's orders and
// touches become into's, merged leaves every set it was in (into takes its
// place), and into's first visit and first order are the earlier of both.
// Lock should be held.
func (s *Stage) merge(ctx context.Context, into, merged int64) {
	if into <= 0 || merged <= 0 || into == merged {
		return
	}
	s.p.merges = append(s.p.merges, store.ProfileMerge{Into: into, Merged: merged})
	s.p.mergedInto[merged] = into
	for _, o := range s.p.orders {
		if o.Profile == merged {
			o.Profile = into
		}
	}
	var moved []touchKey
	for k := range s.p.touches {
		if k.profile == merged {
			moved = append(moved, k)
		}
	}
	for _, k := range moved {
		at := s.p.touches[k]
		delete(s.p.touches, k)
		k.profile = into
		s.p.touch(k, at)
	}
	s.prof.touch(merged)
	b := *s.prof.get(merged)
	if b.none() {
		return
	}
	// Both profiles' first visit and first order are taken out, the sets
	// moved, and the merged profile's put back.
	s.newVisitor(ctx, into, -1)
	s.newCustomer(ctx, into, -1)
	s.newVisitor(ctx, merged, -1)
	s.newCustomer(ctx, merged, -1)
	if err := s.sets.loadAll(ctx, b.minDay, b.maxDay); err != nil {
		s.fail(err)
		return
	}
	for _, d := range s.sets.present(b.minDay, b.maxDay, merged) {
		s.loadDay(ctx, d)
		s.sets.replace(d, merged, into)
	}
	a := s.prof.get(into)
	name := s.prof.dict.name
	if b.firstSeen != 0 && (a.firstSeen == 0 || b.firstSeen < a.firstSeen || b.firstSeen == a.firstSeen && name(b.acq) < name(a.acq)) {
		a.firstSeen, a.acq = b.firstSeen, b.acq
	}
	if b.firstOrder != 0 && (a.firstOrder == 0 || b.firstOrder < a.firstOrder || b.firstOrder == a.firstOrder &&
		name(b.ordChannel)+"\x00"+name(b.ordStore) < name(a.ordChannel)+"\x00"+name(a.ordStore)) {
		a.firstOrder, a.ordChannel, a.ordStore = b.firstOrder, b.ordChannel, b.ordStore
	}
	s.prof.span(into, b.minDay)
	s.prof.span(into, b.maxDay)
	*s.prof.get(merged) = pstate{}
	s.newVisitor(ctx, into, 1)
	s.newCustomer(ctx, into, 1)
	s.prof.touch(into)
}
