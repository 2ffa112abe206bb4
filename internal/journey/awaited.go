package journey

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// matchesFor matches an event for one enrolment: the placeholders of
// where ({{ event.sku }}: the property of the event that enrolled the
// customer) take the enrolment's values first.
func (m *Match) matchesFor(s *seen, st *state) bool {
	if !m.placeholders() {
		return m.matches(s)
	}
	x := expander{st: st}
	c := *m
	c.Where = maps.Clone(m.Where)
	for k, v := range c.Where {
		if str, ok := v.(string); ok && strings.Contains(str, "{{") {
			c.Where[k] = x.expand(str)
		}
	}
	return c.matches(s)
}

func (m *Match) placeholders() bool {
	for _, v := range m.Where {
		if str, ok := v.(string); ok && strings.Contains(str, "{{") {
			return true
		}
	}
	return false
}

// awaited finds, for the events of a batch that belong to no customer
// (Back In Stock: a SKU and a store), the enrolments waiting for them: per
// live or paused journey whose steps wait for such an event, its active
// enrolments (one indexed range per journey and version, not every
// customer), of which it keeps those at such a wait_for that the event
// matches. It returns them by event index, and their profiles. Lock should
// be held.
func (e *Engine) awaited(ctx context.Context, events []*event.Event, owners []int64) (map[int][]*store.Enrolment, []int64, error) {
	names := map[string][]int{}
	seens := map[int]*seen{}
	for i, ev := range events {
		if owners[i] == 0 && ev.Type == event.Track && ev.Event != "" {
			names[ev.Event] = append(names[ev.Event], i)
			seens[i] = seenOf(ev, e.o.Stores)
		}
	}
	if len(names) == 0 {
		return nil, nil, nil
	}
	out := map[int][]*store.Enrolment{}
	var ids []int64
	// Paused journeys too: their enrolments wait, and take the event as
	// they take their customers' own.
	for _, id := range slices.Sorted(maps.Keys(e.latest)) {
		for v := 1; v <= e.latest[id].version; v++ {
			p, err := e.program(ctx, id, v)
			if err != nil {
				return nil, nil, err
			}
			if !p.awaits(names) {
				continue
			}
			var after int64
			for {
				page, err := e.st.ActiveEnrolments(ctx, id, v, after, 1000)
				if err != nil {
					return nil, nil, err
				}
				for _, en := range page {
					after = en.ID
					n := p.nodes[en.Step]
					if n == nil || n.step.WaitFor == nil {
						continue
					}
					st := readState(en)
					if !st.Waiting {
						continue
					}
					// Only the enrolments the event moves on are loaded
					// with the batch.
					for _, i := range names[n.step.WaitFor.Event] {
						if n.step.WaitFor.Match.matchesFor(seens[i], st) {
							out[i] = append(out[i], en)
							ids = append(ids, en.Profile)
						}
					}
				}
				if len(page) < 1000 {
					break
				}
			}
		}
	}
	return out, ids, nil
}

// awaits says whether some wait_for of p waits for one of the event
// names.
func (p *program) awaits(names map[string][]int) bool {
	for _, n := range p.nodes {
		if w := n.step.WaitFor; w != nil && w.Event != "" {
			if _, ok := names[w.Event]; ok {
				return true
			}
		}
	}
	return false
}

// observeAwaited applies a customerless event to the enrolments waiting
// for it. Lock should be held.
func (e *Engine) observeAwaited(ctx context.Context, b *batch, waiting []*store.Enrolment, s *seen) error {
	why := s.e.Event + " (event " + strconv.FormatInt(s.e.Seq, 10) + ")"
	for _, w := range waiting {
		// The batch's copy of the enrolment: an earlier event of the
		// batch may have moved it.
		for _, en := range b.byProf[w.Profile] {
			if en.ID != w.ID || en.Status != EnrolActive {
				continue
			}
			p, err := e.program(ctx, en.Journey, en.Version)
			if err != nil {
				return err
			}
			if p.about(en, s) {
				e.awake(b, p, en, s, why)
			}
		}
	}
	return nil
}

// seenOf is an event as the engine matches it.
func seenOf(ev *event.Event, stores []place.Location) *seen {
	s := &seen{e: ev, stores: stores}
	if len(ev.Properties) > 0 {
		_ = json.Unmarshal(ev.Properties, &s.props)
	}
	if ev.Channel == profile.InternalChannel {
		s.segment, _ = s.props["segmentId"].(string)
		s.historical, _ = s.props["historical"].(bool)
	}
	return s
}
