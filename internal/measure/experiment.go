package measure

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// Test names the statistics an experiment report uses.
const Test = "two-proportion z-test (pooled, two-sided) against the reference arm; Wilson score intervals; " +
	"sample ratio mismatch: chi-square goodness of fit against the configured shares (mismatch below p = 0.001); " +
	"probability to beat the reference: Beta(1+conversions, 1+non-conversions) posteriors"

// srmThreshold is the p-value under which the arms' sizes are too far
// from their configured shares to trust the comparison.
const srmThreshold = 0.001

// ExperimentQuery asks for a journey's experiments.
type ExperimentQuery struct {
	Journey string
	// Confidence is the level of intervals and significance (default
	// 0.95: significant below p = 0.05).
	Confidence float64
	// Window is how long after entering a recipient's orders count for
	// their arm's revenue (default: the goal's window, else 7d).
	Window segment.Duration
}

// ExperimentReport is a journey's experiments: its holdout (control
// group against everyone else) and each A/B split.
type ExperimentReport struct {
	Journey     string       `json:"journey_id"`
	Test        string       `json:"test"`
	Confidence  float64      `json:"confidence"`
	Goal        string       `json:"goal"`
	Window      string       `json:"revenue_window"`
	Experiments []Experiment `json:"experiments"`
	Warnings    []string     `json:"warnings"`
}

// Experiment is one comparison: a holdout or a split.
type Experiment struct {
	Kind     string   `json:"kind"`           // holdout or split
	Version  int      `json:"version"`        // the journey version (splits)
	Step     string   `json:"step,omitempty"` // the split's address
	Arms     []Arm    `json:"arms"`
	SRM      *SRM     `json:"sample_ratio"`
	Warnings []string `json:"warnings"`
}

// Arm is one arm of an experiment.
type Arm struct {
	Name      string   `json:"name"`
	Reference bool     `json:"reference,omitempty"`
	Share     *float64 `json:"configured_share"` // of the experiment, 0-1
	Customers int64    `json:"customers"`        // enrolments
	Converted int64    `json:"converted"`
	Rate      *float64 `json:"conversion_rate"`
	RateLow   *float64 `json:"rate_low"` // Wilson interval at the confidence level
	RateHigh  *float64 `json:"rate_high"`
	// Against the reference: the difference of rates (points) and its
	// interval, the relative lift, the p-value, whether it is
	// significant, and the probability this arm converts better.
	Difference        *float64 `json:"difference,omitempty"`
	DifferenceLow     *float64 `json:"difference_low,omitempty"`
	DifferenceHigh    *float64 `json:"difference_high,omitempty"`
	Lift              *float64 `json:"lift,omitempty"`
	PValue            *float64 `json:"p_value,omitempty"`
	Significant       bool     `json:"significant"`
	ProbabilityBetter *float64 `json:"probability_better,omitempty"`
	// Revenue is what the arm's customers ordered within the window after
	// entering; per recipient, divided by Customers.
	Revenue             float64  `json:"revenue"`
	RevenuePerRecipient *float64 `json:"revenue_per_recipient"`
}

// SRM is the sample ratio check: do the arms' sizes match the shares
// they were configured with?
type SRM struct {
	ChiSquare float64 `json:"chi_square"`
	PValue    float64 `json:"p_value"`
	Mismatch  bool    `json:"mismatch"`
}

// Experiment reports a journey's holdout and A/B splits.
func (s *Service) Experiment(ctx context.Context, q ExperimentQuery) (*ExperimentReport, error) {
	if q.Confidence == 0 {
		q.Confidence = 0.95
	}
	if q.Confidence < 0.5 || q.Confidence >= 1 {
		return nil, problem.Invalid("confidence", "is between 0.5 and 1, like 0.95")
	}
	rec, err := s.st.JourneyVersion(ctx, q.Journey, 0)
	if err != nil {
		return nil, fmt.Errorf("journey %s: %w", q.Journey, err)
	}
	defs := map[int]*journey.Definition{}
	def := func(version int) (*journey.Definition, error) {
		if d, ok := defs[version]; ok {
			return d, nil
		}
		r, err := s.st.JourneyVersion(ctx, q.Journey, version)
		if err != nil {
			return nil, fmt.Errorf("journey %s version %d: %w", q.Journey, version, err)
		}
		var d journey.Definition
		if err := json.Unmarshal(r.Definition, &d); err != nil {
			return nil, fmt.Errorf("journey %s version %d: %w", q.Journey, version, err)
		}
		defs[version] = &d
		return &d, nil
	}
	latest, err := def(rec.Version)
	if err != nil {
		return nil, err
	}
	arms, err := s.st.JourneyArms(ctx, q.Journey)
	if err != nil {
		return nil, err
	}
	out := &ExperimentReport{Journey: q.Journey, Test: Test, Confidence: q.Confidence, Experiments: []Experiment{}, Warnings: []string{}}
	window := time.Duration(q.Window)
	if g := latest.Goal; g != nil {
		out.Goal = fmt.Sprintf("%s within %s of entering", g.Event, durationText(time.Duration(g.Within)))
		if window == 0 {
			window = time.Duration(g.Within)
		}
	} else {
		out.Warnings = append(out.Warnings, "the journey has no goal: conversions are not recorded (set goal: {event: Order Completed, within: 7d}); revenue per recipient still compares the arms")
	}
	if window == 0 {
		window = 7 * 24 * time.Hour
	}
	out.Window = durationText(window)
	revenue, err := s.armRevenue(ctx, arms, window)
	if err != nil {
		return nil, err
	}
	enrol := map[int64]store.JourneyArm{}
	splits := map[[2]string][]store.JourneyArm{} // (version, step) -> rows
	for _, a := range arms {
		enrol[a.Enrolment] = a
		if a.Split != "" {
			k := [2]string{fmt.Sprint(a.Version), a.Split}
			splits[k] = append(splits[k], a)
		}
	}
	if ex, ok := s.holdout(latest, enrol, revenue, q.Confidence); ok {
		out.Experiments = append(out.Experiments, ex)
	}
	keys := make([][2]string, 0, len(splits))
	for k := range splits {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	for _, k := range keys {
		rows := splits[k]
		d, err := def(rows[0].Version)
		if err != nil {
			return nil, err
		}
		out.Experiments = append(out.Experiments, s.split(d, rows[0].Version, k[1], rows, revenue, q.Confidence))
	}
	if len(out.Experiments) == 0 {
		out.Warnings = append(out.Warnings, "nothing to compare: the journey has no control group (control_group: 10) and no split step, or no one entered yet")
	}
	return out, nil
}

// armRevenue sums, per enrolment, the counted orders of its customer
// within window after it entered.
func (s *Service) armRevenue(ctx context.Context, arms []store.JourneyArm, window time.Duration) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(arms) == 0 {
		return out, nil
	}
	byProfile := map[int64][]store.JourneyArm{}
	from, to := arms[0].EnteredAt, arms[0].EnteredAt
	seen := map[int64]bool{}
	for _, a := range arms {
		if seen[a.Enrolment] {
			continue // one row per split it took
		}
		seen[a.Enrolment] = true
		byProfile[a.Profile] = append(byProfile[a.Profile], a)
		from, to = minTime(from, a.EnteredAt), maxTime(to, a.EnteredAt)
	}
	err := s.st.ScanOrders(ctx, from, to.Add(window).Add(time.Microsecond), func(o *store.MeasureOrder) error {
		for _, a := range byProfile[o.Profile] {
			if !o.At.Before(a.EnteredAt) && !o.At.After(a.EnteredAt.Add(window)) {
				out[a.Enrolment] += o.Cents
			}
		}
		return nil
	})
	return out, err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
