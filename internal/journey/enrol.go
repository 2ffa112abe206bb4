package journey

import (
	"context"
	"fmt"
	"slices"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/unify"
)

// resolve finds the profile of each event (unify.Owners).
func (e *Engine) resolve(ctx context.Context, batch []*event.Event) ([]int64, map[int][2]int64, error) {
	owners, merges, err := unify.Owners(ctx, e.st, e.o.Rules, batch)
	if err != nil {
		return nil, nil, fmt.Errorf("journey: %w", err)
	}
	return owners, merges, nil
}

// merge moves the enrolments of a profile merged into another to the
// survivor. Where both were active in the same journey (with the same
// re_entry key: two orders stay two enrolments), the merged one's ends:
// the customer goes on in one. Lock should be held.
func (e *Engine) merge(b *batch, into, merged int64) {
	for _, en := range b.byProf[merged] {
		key := readState(en).key()
		dup := en.Status == EnrolActive && slices.ContainsFunc(b.byProf[into], func(o *store.Enrolment) bool {
			return o.Journey == en.Journey && o.Status == EnrolActive && readState(o).key() == key
		})
		en.Profile, en.UpdatedAt = into, b.now
		b.touch(en)
		if dup {
			e.end(b, en, EnrolExited, fmt.Sprintf("profile merged into %d, already in this journey", into), "profile merged, already in this journey")
		}
		b.byProf[into] = append(b.byProf[into], en)
	}
	delete(b.byProf, merged)
}

// Enrol enrols a profile through the API: the journey must be live and
// have an api trigger. It returns the enrolment, or a *RefusedError saying
// why the policy refused it.
func (e *Engine) Enrol(ctx context.Context, journey string, profileID int64) (*store.Enrolment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.latest[journey]
	if p == nil {
		return nil, problem.NotFound("journey", journey)
	}
	if e.status[journey] != StatusLive {
		return nil, &RefusedError{Journey: journey, Reason: "the journey is " + e.status[journey]}
	}
	if !slices.ContainsFunc(p.def.Triggers, func(t Trigger) bool { return t.API }) {
		return nil, &RefusedError{Journey: journey, Reason: "the journey has no api trigger (add `- api: true` to its triggers)"}
	}
	profiles, segs, err := e.loadProfiles(ctx, []int64{profileID})
	if err != nil {
		return nil, err
	}
	if profiles[profileID] == nil {
		return nil, problem.NotFound("profile", profileID)
	}
	b, err := e.begin(ctx, []int64{profileID})
	if err != nil {
		return nil, err
	}
	b.profiles, b.segs = profiles, segs
	en, why := e.enter(b, p, profileID, "api", nil)
	if en == nil {
		return nil, &RefusedError{Journey: journey, Reason: why}
	}
	if err := e.st.ApplyJourneys(ctx, b.write("", 0)); err != nil {
		return nil, err
	}
	e.Wake()
	return en, nil
}

// RefusedError is an enrolment the journey's rules refuse.
type RefusedError struct {
	Journey, Reason string
}

func (r *RefusedError) Error() string { return "journey " + r.Journey + ": not enrolled: " + r.Reason }

// Describe reports a conflict of code not_enrolled, with the journey and
// the reason.
func (r *RefusedError) Describe() problem.Problem {
	return problem.Problem{Kind: problem.KindConflict, Code: "not_enrolled", Message: r.Error(),
		Details: map[string]string{"journey": r.Journey, "reason": r.Reason}}
}
