package journey

import (
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// convert records the enrolment's conversion when the event is the
// journey's goal, done within the window after entry, and the enrolment
// has not converted yet. It applies whatever the enrolment's status: a
// customer who finished the journey (or sits in the control group) still
// converts within the window. Lock should be held.
func (e *Engine) convert(b *batch, p *program, en *store.Enrolment, s *seen, why string) {
	g := p.def.Goal
	if g == nil || s.e.Type != event.Track || s.e.Event != g.Event || !segment.MatchProperties(s.props, g.Where) {
		return
	}
	at := s.e.Timestamp
	if at.IsZero() {
		at = b.now
	}
	if at.Before(en.EnteredAt) || at.After(en.EnteredAt.Add(time.Duration(g.Within))) {
		return
	}
	st := readState(en)
	if !st.Converted.IsZero() {
		return
	}
	st.Converted = at
	en.State = st.encode()
	b.touch(en)
	b.record(en, "", "goal", "converted", "", b.now)
	e.trace(TraceEntry{At: b.now, Journey: en.Journey, Version: en.Version, Enrolment: en.ID, Profile: en.Profile,
		Kind: "goal", What: "converted: " + g.Event + " within " + human(time.Duration(g.Within)) + " of entry", Why: why})
}
