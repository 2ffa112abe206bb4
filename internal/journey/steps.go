package journey

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/store"
)

// updateTrait emits an identify event setting the trait, with a message
// id derived from the enrolment and the step: emitting it again after a
// crash is dropped by the log's dedup.
func (r *runner) updateTrait(en *store.Enrolment, n *node, at time.Time) string {
	if r.e.o.Emit == nil {
		return "no event sink configured: not updated"
	}
	p := r.profiles[en.Profile]
	var user, anon string
	if p != nil {
		for _, id := range p.Identifiers {
			switch {
			case id.Kind == identity.UserID && user == "":
				user = id.Value
			case id.Kind == identity.AnonymousID && anon == "":
				anon = id.Value
			}
		}
	}
	if user == "" && anon == "" {
		return "the profile has no user or anonymous id: not updated"
	}
	traits, err := json.Marshal(map[string]any{n.step.UpdateTrait.Trait: n.step.UpdateTrait.Value})
	if err != nil {
		return "cannot encode the value: " + err.Error()
	}
	r.emit = append(r.emit, &event.Event{
		MessageID: fmt.Sprintf("parcours-journey-%d-%s", en.ID, n.addr), Type: event.Identify,
		UserID: user, AnonymousID: anon, Traits: traits, Timestamp: at, ReceivedAt: r.b.now,
		SourceID: "src_parcours", Channel: "server",
	})
	return "identify event emitted"
}

// location is the zone of a wait until a time of day: the customer's
// timezone trait for zone: customer (UTC if they have none, or a wrong
// one), else the zone named.
func (r *runner) location(w *Wait, id int64) *time.Location {
	if w.Zone == "customer" {
		var name string
		if p := r.profiles[id]; p != nil {
			if t, ok := p.Traits["timezone"]; ok {
				_ = json.Unmarshal(t.Value, &name)
			}
		}
		if loc, err := zone(name); err == nil {
			return loc
		}
		return time.UTC
	}
	loc, err := zone(w.Zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// waitUntil is when a wait that starts at from ends, in loc for a time of
// day (the next one at or after from; by calendar day, so that a
// daylight saving change keeps the wall-clock time).
func waitUntil(w *Wait, from time.Time, loc *time.Location) time.Time {
	if w.For != nil {
		return from.Add(time.Duration(*w.For))
	}
	off, _ := parseClock(w.Until)
	l := from.In(loc)
	h, m := int(off/time.Hour), int(off%time.Hour/time.Minute)
	t := time.Date(l.Year(), l.Month(), l.Day(), h, m, 0, 0, loc)
	if t.Before(from) {
		t = time.Date(l.Year(), l.Month(), l.Day()+1, h, m, 0, 0, loc)
	}
	return t.UTC()
}

func describeWait(w *Wait, loc *time.Location) string {
	if w.For != nil {
		return "wait " + human(time.Duration(*w.For))
	}
	return "next " + w.Until + " " + loc.String()
}

func (w *WaitFor) describe() string {
	switch {
	case w.Event != "":
		return w.Event
	case w.SegmentEntered != "":
		return "entry into segment " + w.SegmentEntered
	}
	return "exit from segment " + w.SegmentExited
}

func totalWeight(s *Split) float64 {
	var t float64
	for _, v := range s.Variants {
		t += v.Weight
	}
	return t
}

func orEnd(addr string) string {
	if addr == "" {
		return "the end"
	}
	return addr
}

// human writes a duration as people do: 1h, 23h, 2d, 1h30m.
func human(d time.Duration) string {
	var out string
	if days := d / (24 * time.Hour); days > 0 {
		out = fmt.Sprintf("%dd", days)
		d -= days * 24 * time.Hour
	}
	if h := d / time.Hour; h > 0 {
		out += fmt.Sprintf("%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		out += fmt.Sprintf("%dm", m)
		d -= m * time.Minute
	}
	if d > 0 || out == "" {
		out += d.String()
	}
	return out
}
