package measure

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/store"
)

// armCounts are an arm's enrolments, conversions and revenue (cents).
type armCounts struct {
	name      string
	share     *float64
	customers int64
	converted int64
	cents     int64
}

// holdout compares the control group with everyone else who entered.
func (s *Service) holdout(d *journey.Definition, enrol map[int64]store.JourneyArm, revenue map[int64]int64, confidence float64) (Experiment, bool) {
	control := &armCounts{name: "control"}
	treated := &armCounts{name: "treatment"}
	for id, a := range enrol {
		c := treated
		if a.Control {
			c = control
		}
		c.customers++
		if a.Converted {
			c.converted++
		}
		c.cents += revenue[id]
	}
	if d.ControlGroup <= 0 && control.customers == 0 {
		return Experiment{}, false
	}
	if d.ControlGroup > 0 {
		control.share, treated.share = num(d.ControlGroup/100), num(1-d.ControlGroup/100)
	}
	return compare("holdout", 0, "", []*armCounts{control, treated}, 0, confidence), true
}

// split compares the variants of one split step (the holdout variant, a
// variant without steps, is the reference; else the first variant).
func (s *Service) split(d *journey.Definition, version int, step string, rows []store.JourneyArm, revenue map[int64]int64, confidence float64) Experiment {
	var arms []*armCounts
	byName := map[string]*armCounts{}
	ref := 0
	if sp := findSplit(d.Steps, "steps", step); sp != nil {
		var total float64
		for _, v := range sp.Variants {
			total += v.Weight
		}
		ref = -1
		for i, v := range sp.Variants {
			a := &armCounts{name: v.Name}
			if total > 0 {
				a.share = num(v.Weight / total)
			}
			if len(v.Steps) == 0 && ref < 0 {
				ref = i
			}
			arms = append(arms, a)
			byName[v.Name] = a
		}
		ref = max(ref, 0)
	}
	for _, r := range rows {
		a := byName[r.Variant]
		if a == nil {
			a = &armCounts{name: r.Variant} // a variant no longer in the definition
			arms = append(arms, a)
			byName[r.Variant] = a
		}
		a.customers++
		if r.Converted {
			a.converted++
		}
		a.cents += revenue[r.Enrolment]
	}
	return compare("split", version, step, arms, ref, confidence)
}

// findSplit finds the split step at addr, addressed as the journey engine
// addresses steps (steps[2], steps[0].split.variants[1].steps[0], ...).
func findSplit(steps []journey.Step, prefix, addr string) *journey.Split {
	for i := range steps {
		s := &steps[i]
		a := fmt.Sprintf("%s[%d]", prefix, i)
		if a == addr {
			return s.Split
		}
		if !strings.HasPrefix(addr, a+".") {
			continue
		}
		base := a + "." + s.Kind()
		var lists [][]journey.Step
		var names []string
		switch {
		case s.WaitFor != nil:
			lists, names = [][]journey.Step{s.WaitFor.OnEvent, s.WaitFor.OnTimeout}, []string{base + ".on_event", base + ".on_timeout"}
		case s.Branch != nil:
			for j := range s.Branch.Cases {
				lists, names = append(lists, s.Branch.Cases[j].Steps), append(names, fmt.Sprintf("%s.cases[%d].steps", base, j))
			}
			lists, names = append(lists, s.Branch.Else), append(names, base+".else")
		case s.Split != nil:
			for j := range s.Split.Variants {
				lists, names = append(lists, s.Split.Variants[j].Steps), append(names, fmt.Sprintf("%s.variants[%d].steps", base, j))
			}
		}
		for j := range lists {
			if sp := findSplit(lists[j], names[j], addr); sp != nil {
				return sp
			}
		}
	}
	return nil
}

// compare tests each arm against the reference arm and checks the sample
// ratio.
func compare(kind string, version int, step string, arms []*armCounts, ref int, confidence float64) Experiment {
	ex := Experiment{Kind: kind, Version: version, Step: step, Arms: []Arm{}, Warnings: []string{}}
	alpha := 1 - confidence
	r := arms[ref]
	smallest := int64(math.MaxInt64)
	for i, a := range arms {
		arm := Arm{Name: a.name, Reference: i == ref, Share: a.share, Customers: a.customers, Converted: a.converted,
			Revenue: float64(a.cents) / 100}
		arm.Rate = ratio(float64(a.converted), float64(a.customers))
		arm.RevenuePerRecipient = ratio(float64(a.cents)/100, float64(a.customers))
		if lo, hi, ok := wilson(a.converted, a.customers, confidence); ok {
			arm.RateLow, arm.RateHigh = num(lo), num(hi)
		}
		smallest = min(smallest, a.customers)
		if i != ref {
			if arm.Rate != nil && r.customers > 0 {
				rr := float64(r.converted) / float64(r.customers)
				arm.Difference = num(*arm.Rate - rr)
				arm.Lift = ratio(*arm.Rate-rr, rr)
			}
			if lo, hi, ok := diffInterval(r.converted, r.customers, a.converted, a.customers, confidence); ok {
				arm.DifferenceLow, arm.DifferenceHigh = num(lo), num(hi)
			}
			if _, p, ok := twoProportion(r.converted, r.customers, a.converted, a.customers); ok {
				arm.PValue = num(p)
				arm.Significant = p < alpha
				if !arm.Significant {
					ex.Warnings = append(ex.Warnings, fmt.Sprintf("%s against %s: not significant yet (p = %.3g, at least %.3g): the difference may be chance; keep the experiment running",
						a.name, r.name, p, alpha))
				}
			} else if a.customers > 0 && r.customers > 0 {
				ex.Warnings = append(ex.Warnings, fmt.Sprintf("%s against %s: no test yet (no difference to test: neither or both arms all converted)", a.name, r.name))
			}
			if a.customers > 0 && r.customers > 0 {
				arm.ProbabilityBetter = num(probabilityBetter(r.converted, r.customers, a.converted, a.customers))
			}
		}
		ex.Arms = append(ex.Arms, arm)
	}
	var observed []int64
	var shares []float64
	for _, a := range arms {
		if a.share == nil {
			shares = nil
			break
		}
		observed, shares = append(observed, a.customers), append(shares, *a.share)
	}
	if stat, p, ok := chiSquare(observed, shares); ok {
		ex.SRM = &SRM{ChiSquare: stat, PValue: p, Mismatch: p < srmThreshold}
		if ex.SRM.Mismatch {
			var want []string
			for _, s := range shares {
				want = append(want, fmt.Sprintf("%.0f%%", 100*s))
			}
			ex.Warnings = slices.Insert(ex.Warnings, 0, fmt.Sprintf("sample ratio mismatch (p = %.2g): the arms' sizes are not the configured %s; assignment or tracking is broken, do not trust this comparison",
				p, strings.Join(want, " / ")))
		}
	}
	if smallest < 100 {
		ex.Warnings = append(ex.Warnings, fmt.Sprintf("few customers (%d in the smallest arm): the intervals are wide and the test's approximation rough", smallest))
	}
	return ex
}
