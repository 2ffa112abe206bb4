package message

import (
	"math/rand/v2"
	"time"
)

// backoff returns the delay before the next try after attempts tries:
// Backoff doubled each time up to MaxBackoff, drawn in [d/2, d] so that
// messages failing together do not come back together.
func (p *Pipeline) backoff(attempts int) time.Duration {
	d := p.o.Backoff
	for i := 1; i < attempts && d < p.o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.o.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}
