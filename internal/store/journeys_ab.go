package store

import "math"

// NewJourneyStats returns empty stats for a journey, every map and list
// made (the API writes {} and [], not null).
func NewJourneyStats(journey string) *JourneyStats {
	return &JourneyStats{Journey: journey, Exits: map[string]int64{}, Handed: map[string]int64{}, Sent: map[string]int64{},
		Messages: map[string]map[string]int64{}, Steps: []StepCount{}, Variants: []VariantCount{}}
}

// AddMessages counts n outbox messages of a status and channel.
func (s *JourneyStats) AddMessages(status, channel string, n int64) {
	if s.Messages[status] == nil {
		s.Messages[status] = map[string]int64{}
	}
	s.Messages[status][channel] += n
}

// FinishStats derives the rates and p-values of s from its counts (the
// engines call it once they have read the counts).
func FinishStats(s *JourneyStats) {
	s.Sent = s.Messages[MessageSent]
	if s.Sent == nil {
		s.Sent = map[string]int64{}
	}
	s.ConversionRate = rate(s.Converted, s.Entered)
	var ref *VariantResult
	for i := range s.ABResults {
		r := &s.ABResults[i]
		r.ConversionRate = rate(r.Converted, r.Entered)
		if ref == nil || ref.Version != r.Version || ref.Step != r.Step {
			ref = r
			continue
		}
		if p, ok := TwoProportionP(ref.Converted, ref.Entered, r.Converted, r.Entered); ok {
			r.PValue = &p
		}
	}
}

func rate(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// TwoProportionP is the two-sided p-value of the two-proportion z-test
// (pooled) between x1 successes of n1 and x2 of n2; ok is false when the
// test is undefined (an empty group, or a pooled rate of 0 or 1).
func TwoProportionP(x1, n1, x2, n2 int64) (p float64, ok bool) {
	if n1 == 0 || n2 == 0 {
		return 0, false
	}
	pool := float64(x1+x2) / float64(n1+n2)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 0, false
	}
	z := (float64(x1)/float64(n1) - float64(x2)/float64(n2)) / se
	return math.Erfc(math.Abs(z) / math.Sqrt2), true
}
