package journey

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
)

// program is one version of a journey, compiled: every step has an
// address (its path in the definition, "steps[2].wait_for.on_timeout[0]"),
// which is what an enrolment records as its current step. A version never
// changes, so its addresses are stable for the customers inside it.
type program struct {
	def     *Definition
	version int
	nodes   map[string]*node
	first   string
	// profiles: some step reads the profile (branch, update_trait);
	// entryProfiles: entering does (entry_when).
	profiles, entryProfiles bool
	// refs are the properties of the enrolling event that steps refer
	// to ({{ event.sku }}), and pos says whether a step needs its
	// position ("nearest"): the enrolment keeps them.
	refs []string
	pos  bool
}

// refer notes what a step's strings read from the enrolling event.
func (p *program) refer(nearest bool, strs ...string) {
	p.pos = p.pos || nearest
	for _, s := range strs {
		for _, k := range eventRefs(s) {
			if !slices.Contains(p.refs, k) {
				p.refs = append(p.refs, k)
			}
		}
	}
}

// node is one step and where it leads; "" is the end of the journey.
type node struct {
	addr string
	step *Step
	next string
	// wait_for: where the event and the timeout lead.
	onEvent, onTimeout string
	// branch: the first step of each case, and of else.
	cases []string
	other string
	// split: the first step of each variant.
	variants []string
}

func compile(d *Definition, version int) *program {
	p := &program{def: d, version: version, nodes: map[string]*node{}}
	p.first = p.list(d.Steps, "steps", "")
	p.entryProfiles = d.EntryWhen != nil
	return p
}

// list compiles a list of steps followed by after, and returns the
// address of its first step (after if the list is empty).
func (p *program) list(steps []Step, prefix, after string) string {
	addrs := make([]string, len(steps))
	for i := range steps {
		addrs[i] = fmt.Sprintf("%s[%d]", prefix, i)
	}
	for i := range steps {
		s := &steps[i]
		n := &node{addr: addrs[i], step: s, next: after}
		if i+1 < len(steps) {
			n.next = addrs[i+1]
		}
		p.nodes[n.addr] = n
		base := n.addr + "." + s.Kind()
		switch {
		case s.WaitFor != nil:
			for _, v := range s.WaitFor.Where {
				if str, ok := v.(string); ok {
					p.refer(false, str)
				}
			}
			n.onEvent = p.list(s.WaitFor.OnEvent, base+".on_event", n.next)
			n.onTimeout = p.list(s.WaitFor.OnTimeout, base+".on_timeout", n.next)
		case s.Branch != nil:
			p.profiles = true
			for j := range s.Branch.Cases {
				if q := s.Branch.Cases[j].When.InStock; q != nil {
					p.refer(q.Store == "" || q.Store == "nearest", q.SKU, q.Store)
				}
				n.cases = append(n.cases, p.list(s.Branch.Cases[j].Steps, fmt.Sprintf("%s.cases[%d].steps", base, j), n.next))
			}
			n.other = p.list(s.Branch.Else, base+".else", n.next)
		case s.Split != nil:
			for j := range s.Split.Variants {
				n.variants = append(n.variants, p.list(s.Split.Variants[j].Steps, fmt.Sprintf("%s.variants[%d].steps", base, j), n.next))
			}
		case s.Task != nil:
			p.profiles = true
			p.refer(s.Task.Store == "nearest", s.Task.Store, s.Task.Title, s.Task.Note)
		case s.UpdateTrait != nil, s.Wait != nil && (s.Wait.Zone == "customer" || s.Wait.UntilTrait != ""):
			p.profiles = true
		}
	}
	if len(steps) == 0 {
		return after
	}
	return addrs[0]
}

// fraction hashes parts into [0, 1), the same on every run and machine:
// control groups and splits are deterministic per customer.
func fraction(parts ...string) float64 {
	h := fnv.New64a()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return float64(h.Sum64()>>11) / (1 << 53)
}

// inControl reports whether a customer is in a journey's control group.
func inControl(d *Definition, profile int64) bool {
	return d.ControlGroup > 0 && fraction("control", d.ID, strconv.FormatInt(profile, 10)) < d.ControlGroup/100
}

// variant picks a split's variant for a customer.
func variant(d *Definition, addr string, profile int64, s *Split) int {
	var total float64
	for _, v := range s.Variants {
		total += v.Weight
	}
	x := fraction("split", d.ID, addr, strconv.FormatInt(profile, 10)) * total
	for i, v := range s.Variants {
		if x < v.Weight {
			return i
		}
		x -= v.Weight
	}
	return len(s.Variants) - 1
}
