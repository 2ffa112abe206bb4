package profile

import (
	"cmp"
	"slices"
	"time"
)

// RFMScore scores a customer from 1 (worst) to 5 (best) on recency,
// frequency and monetary value, by quintile among the customers who ordered.
type RFMScore struct {
	R     int    `json:"r"`
	F     int    `json:"f"`
	M     int    `json:"m"`
	Score string `json:"score"` // "555" for the best customers
}

// RFM is one scoring of every customer.
type RFM struct {
	At     time.Time          `json:"at"`
	Scores map[int64]RFMScore `json:"-"`
}

// RFMInput is what scoring needs of one profile.
type RFMInput struct {
	Profile     int64
	LastOrderAt time.Time
	Orders      int
	Revenue     int64 // cents
}

// ScoreRFM scores the customers with at least one order, as of now.
// Quintiles are by rank, ties sharing the better score, so that equal
// customers always get equal scores.
func ScoreRFM(in []RFMInput, now time.Time) *RFM {
	var buyers []RFMInput
	for _, x := range in {
		if x.Orders > 0 {
			buyers = append(buyers, x)
		}
	}
	out := &RFM{At: now, Scores: make(map[int64]RFMScore, len(buyers))}
	if len(buyers) == 0 {
		return out
	}
	r := quintiles(buyers, func(a, b RFMInput) int { return a.LastOrderAt.Compare(b.LastOrderAt) })
	f := quintiles(buyers, func(a, b RFMInput) int { return cmp.Compare(a.Orders, b.Orders) })
	m := quintiles(buyers, func(a, b RFMInput) int { return cmp.Compare(a.Revenue, b.Revenue) })
	for _, x := range buyers {
		s := RFMScore{R: r[x.Profile], F: f[x.Profile], M: m[x.Profile]}
		s.Score = string(rune('0'+s.R)) + string(rune('0'+s.F)) + string(rune('0'+s.M))
		out.Scores[x.Profile] = s
	}
	return out
}

// quintiles ranks xs by less (ascending: worst first) and gives each a
// score from 1 to 5; equal values get the score of the best of them.
func quintiles(xs []RFMInput, compare func(a, b RFMInput) int) map[int64]int {
	sorted := slices.Clone(xs)
	slices.SortFunc(sorted, compare)
	out := make(map[int64]int, len(xs))
	n := len(sorted)
	for i := 0; i < n; {
		j := i
		for j+1 < n && compare(sorted[j+1], sorted[i]) == 0 {
			j++
		}
		score := 1 + ((j+1)*5-1)/n
		for k := i; k <= j; k++ {
			out[sorted[k].Profile] = score
		}
		i = j + 1
	}
	return out
}
