package measure

import (
	"math"
	"slices"
	"testing"
)

// The statistics against published values (R's prop.test without
// continuity correction, pchisq, qnorm).
func TestStatsKnownValues(t *testing.T) {
	close := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol {
			t.Errorf("%s = %.7g, want %.7g", name, got, want)
		}
	}
	close("qnorm(0.975)", zQuantile(0.95), 1.959964, 1e-6)
	close("qnorm(0.995)", zQuantile(0.99), 2.575829, 1e-6)
	// prop.test(c(200, 250), c(1000, 1000), correct = FALSE): X-squared
	// 7.1685, p 0.007419.
	z, p, ok := twoProportion(200, 1000, 250, 1000)
	close("z^2", z*z, 7.1685, 1e-4)
	close("p", p, 0.007419, 1e-6)
	if !ok || z <= 0 {
		t.Errorf("z = %v, ok %v: the second rate is higher", z, ok)
	}
	// 2 of 2 against 0 of 2: p 0.0455 (the journey stats' test).
	_, p, _ = twoProportion(2, 2, 0, 2)
	close("p 2/2 vs 0/2", p, 0.0455003, 1e-6)
	if _, _, ok := twoProportion(0, 10, 0, 10); ok {
		t.Error("no conversion anywhere: the test is undefined")
	}
	// The Wilson score interval of 200 of 1000 (what prop.test(200, 1000,
	// correct = FALSE) reports): 0.1763771 0.2259190.
	lo, hi, _ := wilson(200, 1000, 0.95)
	close("wilson lo", lo, 0.1763771, 1e-6)
	close("wilson hi", hi, 0.2259190, 1e-6)
	lo, hi, _ = wilson(0, 10, 0.95)
	close("wilson 0/10 lo", lo, 0, 1e-12)
	close("wilson 0/10 hi", hi, 0.2775328, 1e-6)
	// Chi-square: 5100 / 4900 against 50/50 is 4 with 1 df: p =
	// pchisq(4, 1, lower = FALSE) = 0.04550026; 1000 / 1100 / 900 against
	// thirds is 20 with 2 df: p = exp(-10).
	stat, p, _ := chiSquare([]int64{5100, 4900}, []float64{1, 1})
	close("chi2", stat, 4, 1e-9)
	close("chi2 p", p, 0.04550026, 1e-8)
	stat, p, _ = chiSquare([]int64{1000, 1100, 900}, []float64{1, 1, 1})
	close("chi2 3", stat, 20, 1e-9)
	close("chi2 3 p", p, math.Exp(-10), 1e-12)
	// pchisq(30, 5, lower = FALSE) = 1.474858e-05; pchisq(2, 4, lower =
	// FALSE) = 0.7357589 (the series branch).
	close("Q(2.5, 15)", upperGamma(2.5, 15), 1.474858e-05, 1e-11)
	close("Q(2, 1)", upperGamma(2, 1), 0.7357589, 1e-7)
	// Equal arms: one half; a much better arm: almost 1.
	close("P(better) equal", probabilityBetter(50, 100, 50, 100), 0.5, 1e-12)
	if pb := probabilityBetter(100, 1000, 150, 1000); pb < 0.99 {
		t.Errorf("P(150/1000 beats 100/1000) = %v", pb)
	}
}

// TestMedian checks the quickselect median against a sort.
func TestMedian(t *testing.T) {
	for _, v := range [][]float64{{5}, {3, 1}, {1, 2, 3, 4}, {9, 1, 8, 2, 7, 3, 6, 4, 5}, {2, 2, 2, 1, 1, 3, 3, 3}, {10, 0, 10, 0, 10, 0}} {
		want := append([]float64(nil), v...)
		slices.Sort(want)
		m := want[len(want)/2]
		if len(want)%2 == 0 {
			m = (want[len(want)/2-1] + want[len(want)/2]) / 2
		}
		if got := median(append([]float64(nil), v...)); got == nil || *got != m {
			t.Errorf("median(%v) = %v, want %v", v, got, m)
		}
	}
	if median(nil) != nil {
		t.Error("median of nothing")
	}
}
