package gen

import "math"

// rng is a splitmix64 generator: eight bytes of state, so that a million
// customers can each carry their own stream, and fast enough that drawing
// numbers never shows up next to JSON encoding in a profile.
type rng struct{ s uint64 }

func newRNG(keys ...uint64) rng {
	h := uint64(0x243f6a8885a308d3)
	for _, k := range keys {
		h = mix64(h ^ mix64(k+0x9e3779b97f4a7c15))
	}
	return rng{h}
}

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix64(r.s)
}

// mix64 is the splitmix64 finaliser. It is a bijection on uint64, which
// makes ids derived from distinct inputs distinct, not merely unlikely to
// collide.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// hash2 mixes two keys into one well-spread value.
func hash2(a, b uint64) uint64 { return mix64(a ^ mix64(b+0x632be59bd9b4e019)) }

// intn returns a number in [0, n); n must be positive and below 2^32.
func (r *rng) intn(n int) int { return int(((r.next() >> 32) * uint64(n)) >> 32) }

// between returns a number in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (r *rng) chance(p float64) bool { return r.float() < p }

// exp draws from an exponential distribution with the given mean.
func (r *rng) exp(mean float64) float64 { return -mean * math.Log(1-r.float()) }

// pick returns an index drawn from cumulative weights (see cumulate).
func (r *rng) pick(cum []float64) int {
	x := r.float() * cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// cumulate turns weights into the running sums that pick expects.
func cumulate(w []float64) []float64 {
	c := make([]float64, len(w))
	s := 0.0
	for i, x := range w {
		s += x
		c[i] = s
	}
	return c
}

// permute maps x in [0, m) to a distinct value in [0, m): an affine
// permutation, with a coprime to m. It spreads customer numbers over name
// combinations, phone numbers and card numbers without any table.
func permute(x, a, b, m uint64) uint64 { return (a*(x%m) + b) % m }

const hexDigits = "0123456789abcdef"

// appendHex appends the n lowest hex digits of v, most significant first.
func appendHex(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, hexDigits[(v>>(uint(i)*4))&0xf])
	}
	return b
}

// appendUUID appends hi and lo formatted as a version-4 UUID. Every bit of
// hi appears in the result, so distinct hi give distinct UUIDs.
func appendUUID(b []byte, hi, lo uint64) []byte {
	b = appendHex(b, hi>>32, 8)
	b = append(b, '-')
	b = appendHex(b, hi>>16, 4)
	b = append(b, '-', '4')
	b = appendHex(b, lo>>52, 3)
	b = append(b, '-', hexDigits[8|(lo>>48)&3])
	b = appendHex(b, lo>>36, 3)
	b = append(b, '-')
	b = appendHex(b, hi, 4)
	return appendHex(b, lo, 8)
}

// appendPadded appends v in decimal with at least n digits.
func appendPadded(b []byte, v uint64, n int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for v > 0 || i > len(tmp)-n {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[i:]...)
}
