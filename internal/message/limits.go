package message

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// limiters holds one token bucket per provider, shared by every worker of
// the process, so that a provider's rate holds however many workers send.
// Several processes each have their own buckets: the rate then holds per
// process (docs/messages.md says to divide it by the process count).
type limiters struct {
	mu sync.Mutex
	m  map[string]*limiter
}

type limiter struct {
	l *rate.Limiter
}

// wait blocks until the provider may take one more message.
func (ls *limiters) wait(ctx context.Context, name string, lim Limits) error {
	if lim.Rate <= 0 {
		return nil
	}
	ls.mu.Lock()
	l, ok := ls.m[name]
	if !ok {
		l = &limiter{l: rate.NewLimiter(rate.Limit(lim.Rate), max(1, lim.Burst))}
		ls.m[name] = l
	}
	ls.mu.Unlock()
	return l.l.Wait(ctx)
}
