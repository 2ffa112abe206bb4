package measure

import (
	"time"

	"github.com/parcours/parcours/internal/store"
)

// pstate is what the stage keeps in memory per profile: 20 bytes, in a
// slice indexed by profile id (ids are dense), so that an event costs no
// read of the store. Times are Unix seconds (0: never).
type pstate struct {
	firstSeen  uint32
	firstOrder uint32
	minDay     int32 // the first day the profile is in any set
	maxDay     int32 // the last day the profile was seen or is in any set
	acq        uint16
	ordChannel uint16
	ordStore   uint16
}

// none reports whether the profile has nothing recorded.
func (p *pstate) none() bool {
	return p.firstSeen == 0 && p.firstOrder == 0 && p.minDay == 0 && p.maxDay == 0
}

// dict interns the few labels profiles carry (acquisition sources,
// channels, stores) as 16-bit codes; code 0 is "".
type dict struct {
	names []string
	codes map[string]uint16
}

func newDict() *dict { return &dict{names: []string{""}, codes: map[string]uint16{"": 0}} }

// code returns s's code; past 65,535 labels the rest share "other".
func (d *dict) code(s string) uint16 {
	if c, ok := d.codes[s]; ok {
		return c
	}
	if len(d.names) >= 1<<16-1 {
		return d.code("other")
	}
	c := uint16(len(d.names))
	d.names = append(d.names, s)
	d.codes[s] = c
	return c
}

func (d *dict) name(c uint16) string { return d.names[c] }

// profiles is the stage's per-profile state.
type profiles struct {
	st    []pstate
	dict  *dict
	dirty map[int64]bool // changed since the last flush
}

func newProfiles() *profiles { return &profiles{dict: newDict(), dirty: map[int64]bool{}} }

// get returns the state of id, growing the slice as needed.
func (ps *profiles) get(id int64) *pstate {
	if int(id) >= len(ps.st) {
		n := max(int(id)+1, len(ps.st)*5/4+1024)
		grown := make([]pstate, n)
		copy(grown, ps.st)
		ps.st = grown
	}
	return &ps.st[id]
}

// touch marks id changed.
func (ps *profiles) touch(id int64) { ps.dirty[id] = true }

// span widens the days the profile is in sets to include d.
func (ps *profiles) span(id int64, d int32) {
	p := ps.get(id)
	switch {
	case p.minDay == 0 && p.maxDay == 0:
		p.minDay, p.maxDay = d, d
	case d < p.minDay:
		p.minDay = d
	case d > p.maxDay:
		p.maxDay = d
	default:
		return
	}
	ps.touch(id)
}

// record turns a profile's state into its stored row.
func (ps *profiles) record(id int64) store.MeasureProfile {
	p := ps.get(id)
	return store.MeasureProfile{ID: id, FirstSeen: fromSeconds(p.firstSeen), Acquisition: ps.dict.name(p.acq),
		LastDay: p.maxDay, FirstOrder: fromSeconds(p.firstOrder), OrderChannel: ps.dict.name(p.ordChannel),
		OrderStore: ps.dict.name(p.ordStore), MinDay: p.minDay}
}

// load sets a profile's state from its stored row.
func (ps *profiles) load(r store.MeasureProfile) {
	p := ps.get(r.ID)
	*p = pstate{firstSeen: seconds(r.FirstSeen), firstOrder: seconds(r.FirstOrder), minDay: r.MinDay, maxDay: r.LastDay,
		acq: ps.dict.code(r.Acquisition), ordChannel: ps.dict.code(r.OrderChannel), ordStore: ps.dict.code(r.OrderStore)}
}

// seconds is t in Unix seconds, at least 1 (0 means never); times before
// 1970 count as its first second.
func seconds(t time.Time) uint32 {
	if t.IsZero() {
		return 0
	}
	s := t.Unix()
	switch {
	case s < 1:
		return 1
	case s > 1<<32-1:
		return 1<<32 - 1
	}
	return uint32(s)
}

func fromSeconds(s uint32) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}
