package recommend

import "time"

// sessionItems is how many recent items of a browsing session co-occur
// with the next one.
const sessionItems = 8

// session is what a visitor looked at last, for co-views.
type session struct {
	last time.Time
	n    int
	buf  [sessionItems]int32
}

func (s *session) items() []int32 { return s.buf[:min(s.n, sessionItems)] }

// push adds i as the most recent item (moving it first if present).
func (s *session) push(i int32, at time.Time) {
	if at.After(s.last) {
		s.last = at
	}
	k := min(s.n, sessionItems)
	for x := 0; x < k; x++ {
		if s.buf[x] == i {
			copy(s.buf[1:x+1], s.buf[:x])
			s.buf[0] = i
			return
		}
	}
	if k == sessionItems {
		k--
	}
	copy(s.buf[1:k+1], s.buf[:k])
	s.buf[0] = i
	s.n++
}

// sessions keeps the browsing sessions of the most recent visitors, at
// most max of them: beyond it, those idle longest are dropped (their
// next view starts a new session).
type sessions struct {
	max int
	m   map[string]*session
}

func newSessions(max int) *sessions { return &sessions{max: max, m: map[string]*session{}} }

// get returns the visitor's session at time at, a new one if the last
// view is older than gap.
func (ss *sessions) get(visitor string, at time.Time, gap time.Duration) *session {
	s := ss.m[visitor]
	if s != nil && at.Sub(s.last) <= gap && s.last.Sub(at) <= gap {
		return s
	}
	if s == nil {
		if len(ss.m) >= ss.max {
			ss.evict(at, gap)
		}
		s = &session{}
		ss.m[visitor] = s
	}
	*s = session{last: at}
	return s
}

// evict drops the sessions already ended at at; if that frees less than
// a quarter, it drops ones at random (map order) until it does.
func (ss *sessions) evict(at time.Time, gap time.Duration) {
	for k, s := range ss.m {
		if at.Sub(s.last) > gap {
			delete(ss.m, k)
		}
	}
	for k := range ss.m {
		if len(ss.m) <= ss.max*3/4 {
			break
		}
		delete(ss.m, k)
	}
}
