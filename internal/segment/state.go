package segment

import (
	"cmp"
	"slices"
	"time"
)

// State is what the segment stage keeps per profile besides the profile
// itself: the behavioural facts its conditions need, context the profile
// does not keep (sources, device type), and its current memberships.
// Everything in it merges commutatively, so a profile merge or a replay in
// another order gives the same state.
type State struct {
	// Facts holds, per behaviour key, the matching events, oldest first.
	Facts map[string][]Hit `json:"f,omitempty"`
	// Older sums the hits dropped off the front of a list past maxHits.
	Older   map[string]Agg  `json:"o,omitempty"`
	Sources map[string]bool `json:"s,omitempty"`
	Device  Stamped         `json:"dv,omitzero"`
	// Members maps the segments the profile is in to when it entered.
	Members map[string]time.Time `json:"m,omitempty"`
	// Moves counts each segment's entries and exits, for the message ids
	// of the events that announce them.
	Moves map[string]int `json:"mv,omitempty"`
	// Due maps segments to the instant (unix ms) their result can next
	// change with time alone; the profile's timer is the earliest.
	Due map[string]int64 `json:"du,omitempty"`
}

// setDue records the next change of each segment evaluated and returns the
// earliest over every segment.
func (s *State) setDue(due map[string]time.Time, live func(string) bool) time.Time {
	for seg, t := range due {
		if t.IsZero() {
			delete(s.Due, seg)
			continue
		}
		if s.Due == nil {
			s.Due = map[string]int64{}
		}
		s.Due[seg] = t.UnixMilli()
	}
	var next int64
	for seg, t := range s.Due {
		if !live(seg) {
			delete(s.Due, seg)
			continue
		}
		if next == 0 || t < next {
			next = t
		}
	}
	if next == 0 {
		return time.Time{}
	}
	return time.UnixMilli(next).UTC()
}

// Hit is one event matching a behaviour key.
type Hit struct {
	Seq int64   `json:"q"`
	At  int64   `json:"t"` // event time, unix milliseconds
	V   float64 `json:"v,omitempty"`
}

// Agg is a count and a sum.
type Agg struct {
	N   int     `json:"n"`
	Sum float64 `json:"s"`
}

// Stamped is a value and the event time it was seen at.
type Stamped struct {
	Value string `json:"v"`
	At    int64  `json:"t"`
	Seq   int64  `json:"q"`
}

// maxHits bounds a key's list per profile. Keys used only with windows
// are pruned by time first; an "ever" key that overflows keeps its oldest
// hits as a count and a sum.
const maxHits = 1000

// NewState returns an empty state.
func NewState() *State { return &State{} }

func hitLess(a, b Hit) int {
	if c := cmp.Compare(a.At, b.At); c != 0 {
		return c
	}
	return cmp.Compare(a.Seq, b.Seq)
}

// add records a hit; a hit already there (same seq) is ignored.
func (s *State) add(key string, h Hit) bool {
	if s.Facts == nil {
		s.Facts = map[string][]Hit{}
	}
	list := s.Facts[key]
	i, found := slices.BinarySearchFunc(list, h, hitLess)
	if found {
		return false
	}
	s.Facts[key] = slices.Insert(list, i, h)
	return true
}

// prune drops the hits no condition can see: older than horizon (0: keep
// all), and past maxHits.
func (s *State) prune(key string, horizon time.Duration, now time.Time) {
	list := s.Facts[key]
	if horizon > 0 {
		cut := now.Add(-horizon).UnixMilli()
		i, _ := slices.BinarySearchFunc(list, Hit{At: cut}, hitLess)
		list = list[i:]
	}
	if over := len(list) - maxHits; over > 0 {
		if s.Older == nil {
			s.Older = map[string]Agg{}
		}
		a := s.Older[key]
		for _, h := range list[:over] {
			a.N++
			a.Sum += h.V
		}
		s.Older[key] = a
		list = list[over:]
	}
	if len(list) == 0 {
		delete(s.Facts, key)
		return
	}
	s.Facts[key] = slices.Clip(list)
}

// Merge folds o (a profile merged into this one) into s. Memberships are
// not merged: the surviving profile is evaluated again.
func (s *State) Merge(o *State) {
	for key, hits := range o.Facts {
		for _, h := range hits {
			s.add(key, h)
		}
	}
	for key, a := range o.Older {
		if s.Older == nil {
			s.Older = map[string]Agg{}
		}
		b := s.Older[key]
		s.Older[key] = Agg{N: a.N + b.N, Sum: a.Sum + b.Sum}
	}
	for src := range o.Sources {
		s.setSource(src)
	}
	s.setDevice(o.Device)
	for seg, n := range o.Moves {
		if s.Moves == nil {
			s.Moves = map[string]int{}
		}
		s.Moves[seg] += n
	}
}

func (s *State) setSource(id string) {
	if s.Sources == nil {
		s.Sources = map[string]bool{}
	}
	s.Sources[id] = true
}

func (s *State) setDevice(d Stamped) {
	if d.Value == "" {
		return
	}
	if d.At > s.Device.At || d.At == s.Device.At && d.Seq > s.Device.Seq {
		s.Device = d
	}
}
