package measure

import "math"

// The statistics of experiments: a two-proportion z-test (pooled, two
// sided), Wilson score intervals, a chi-square goodness-of-fit test for
// sample ratio mismatch, and a Bayesian probability to beat the reference
// (Beta(1+x, 1+n-x) posteriors, normal approximation).

// zQuantile returns z such that P(|Z| <= z) = confidence for a standard
// normal Z (1.959964 for 0.95).
func zQuantile(confidence float64) float64 {
	return math.Sqrt2 * math.Erfinv(confidence)
}

// twoProportion tests whether x1/n1 and x2/n2 differ: the pooled z
// statistic and its two-sided p-value; ok is false when the test is
// undefined (an empty group, or a pooled rate of 0 or 1).
func twoProportion(x1, n1, x2, n2 int64) (z, p float64, ok bool) {
	if n1 == 0 || n2 == 0 {
		return 0, 0, false
	}
	pool := float64(x1+x2) / float64(n1+n2)
	se := math.Sqrt(pool * (1 - pool) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 {
		return 0, 0, false
	}
	z = (float64(x2)/float64(n2) - float64(x1)/float64(n1)) / se
	return z, math.Erfc(math.Abs(z) / math.Sqrt2), true
}

// wilson is the Wilson score interval of x successes of n at the
// confidence level.
func wilson(x, n int64, confidence float64) (lo, hi float64, ok bool) {
	if n == 0 {
		return 0, 0, false
	}
	z := zQuantile(confidence)
	p, fn := float64(x)/float64(n), float64(n)
	den := 1 + z*z/fn
	mid := (p + z*z/(2*fn)) / den
	half := z * math.Sqrt(p*(1-p)/fn+z*z/(4*fn*fn)) / den
	lo, hi = math.Max(0, mid-half), math.Min(1, mid+half)
	if x == 0 {
		lo = 0 // exactly, not a rounding error above it
	}
	if x == n {
		hi = 1
	}
	return lo, hi, true
}

// diffInterval is the interval of p2 - p1 (unpooled normal approximation).
func diffInterval(x1, n1, x2, n2 int64, confidence float64) (lo, hi float64, ok bool) {
	if n1 == 0 || n2 == 0 {
		return 0, 0, false
	}
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	se := math.Sqrt(p1*(1-p1)/float64(n1) + p2*(1-p2)/float64(n2))
	d := p2 - p1
	z := zQuantile(confidence)
	return d - z*se, d + z*se, true
}

// chiSquare tests observed counts against expected shares (any scale):
// the statistic and its p-value with len-1 degrees of freedom.
func chiSquare(observed []int64, shares []float64) (stat, p float64, ok bool) {
	if len(observed) < 2 || len(observed) != len(shares) {
		return 0, 0, false
	}
	var n, total float64
	for i, o := range observed {
		n += float64(o)
		total += shares[i]
	}
	if n == 0 || total <= 0 {
		return 0, 0, false
	}
	for i, o := range observed {
		e := n * shares[i] / total
		if e <= 0 {
			return 0, 0, false
		}
		stat += (float64(o) - e) * (float64(o) - e) / e
	}
	return stat, upperGamma(float64(len(observed)-1)/2, stat/2), true
}

// upperGamma is the regularized upper incomplete gamma function Q(a, x):
// the chi-square survival function is Q(df/2, stat/2). A series below
// a+1, a continued fraction above (Numerical Recipes, 6.2).
func upperGamma(a, x float64) float64 {
	if x <= 0 {
		return 1
	}
	lg, _ := math.Lgamma(a)
	if x < a+1 {
		sum, del := 1/a, 1/a
		for n := 1; n < 1000; n++ {
			del *= x / (a + float64(n))
			sum += del
			if math.Abs(del) < math.Abs(sum)*1e-15 {
				break
			}
		}
		return 1 - sum*math.Exp(-x+a*math.Log(x)-lg)
	}
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return math.Exp(-x+a*math.Log(x)-lg) * h
}

// probabilityBetter is the posterior probability that arm 2's rate is
// above arm 1's, with uniform priors (Beta(1+x, 1+n-x)), from the normal
// approximation of the two posteriors.
func probabilityBetter(x1, n1, x2, n2 int64) float64 {
	m1, v1 := betaMoments(x1, n1)
	m2, v2 := betaMoments(x2, n2)
	s := math.Sqrt(v1 + v2)
	if s == 0 {
		return 0.5
	}
	return 0.5 * math.Erfc(-(m2-m1)/s/math.Sqrt2)
}

func betaMoments(x, n int64) (mean, variance float64) {
	a, b := float64(1+x), float64(1+n-x)
	return a / (a + b), a * b / ((a + b) * (a + b) * (a + b + 1))
}
