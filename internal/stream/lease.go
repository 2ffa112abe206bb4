package stream

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// How a lease is held (docs/scale.md, Ownership of the relay): renewed
// every leaseRenew, given up when no renewal succeeded for LeaseTTL,
// claimed by the others every leaseRetry.
const (
	leaseRenew = 2 * time.Second
	leaseRetry = time.Second
)

// Hold runs fn while this node holds the lease key, for as long as ctx
// lasts: it claims the key (waiting while another live node holds it),
// calls fn with a context that ends when the lease is lost, and claims it
// again after. fn must return soon after its context ends. When ctx ends,
// the lease is kept until Release (the caller may have work of the lease
// to finish); when fn returns by itself, it is released at once.
//
// The lease is a key of the stream's key-value bucket, whose TTL expires it
// LeaseTTL after its holder's last renewal: a node that dies or pauses
// loses it, another claims it. The bucket is JetStream's own replicated
// state: no consensus of ours.
func (s *Stream) Hold(ctx context.Context, key string, fn func(ctx context.Context)) {
	for ctx.Err() == nil {
		rev, err := s.leases.Create(ctx, key, []byte(s.opts.Node))
		if err != nil {
			if !errors.Is(err, jetstream.ErrKeyExists) && ctx.Err() == nil {
				s.log.Warn("lease: claim failed", "lease", key, "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(leaseRetry):
			}
			continue
		}
		s.log.Info("lease: holding", "lease", key, "node", s.opts.Node, "revision", rev)
		s.leaseEvents.WithLabelValues(key, "acquired").Inc()
		s.leaseHeld.WithLabelValues(key).Set(1)
		s.holding(ctx, key, rev, fn)
		s.leaseHeld.WithLabelValues(key).Set(0)
	}
}

// holding runs fn under the lease claimed at rev, renewing it, until fn
// returns or the lease is lost.
func (s *Stream) holding(ctx context.Context, key string, rev uint64, fn func(ctx context.Context)) {
	held, lose := context.WithCancel(context.WithValue(ctx, tokenKey{}, Token{Epoch: s.epoch(ctx), Rev: rev}))
	defer lose()
	done := make(chan struct{})
	go func() { defer close(done); fn(held) }()
	t := time.NewTicker(leaseRenew)
	defer t.Stop()
	renewed := time.Now()
	for {
		select {
		case <-done:
			if ctx.Err() == nil {
				s.release(key, rev)
				return
			}
			s.keep(key, rev)
			return
		case <-ctx.Done():
			<-done
			s.keep(key, rev)
			return
		case <-t.C:
		}
		rctx, cancel := context.WithTimeout(ctx, leaseRenew)
		next, err := s.leases.Update(rctx, key, []byte(s.opts.Node), rev)
		cancel()
		switch {
		case err == nil:
			rev, renewed = next, time.Now()
			continue
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyNotFound):
			// The revision moved or the key expired: another node may
			// hold it now. Stop at once.
			s.log.Error("lease: lost", "lease", key, "node", s.opts.Node, "err", err)
		case time.Since(renewed) < LeaseTTL-leaseRenew:
			s.log.Warn("lease: renewal failed; retrying", "lease", key, "err", err)
			continue
		default:
			s.log.Error("lease: not renewed within its TTL; giving it up", "lease", key, "err", err)
		}
		s.leaseEvents.WithLabelValues(key, "lost").Inc()
		lose()
		<-done
		return
	}
}

// keep remembers that this node still holds key at rev, for Release.
func (s *Stream) keep(key string, rev uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.kept == nil {
		s.kept = map[string]uint64{}
	}
	s.kept[key] = rev
}

// Release gives up the lease key that Hold kept when its context ended, so
// that another node takes over at once rather than when it expires. Call it
// once the work done under the lease has stopped.
func (s *Stream) Release(key string) {
	s.mu.Lock()
	rev, ok := s.kept[key]
	delete(s.kept, key)
	s.mu.Unlock()
	if ok {
		s.release(key, rev)
	}
}

// release deletes the lease if it is still at rev, so that another node
// need not wait for it to expire.
func (s *Stream) release(key string, rev uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.leases.Delete(ctx, key, jetstream.LastRevision(rev)); err != nil {
		s.log.Warn("lease: release failed; it expires by itself", "lease", key, "err", err)
		return
	}
	s.leaseEvents.WithLabelValues(key, "released").Inc()
	s.log.Info("lease: released", "lease", key, "node", s.opts.Node)
}

// Token identifies one holding of a lease, for fencing (docs/scale.md,
// Fencing): the revision of the key when it was claimed, which JetStream
// makes grow with every write of the bucket, in the epoch of the bucket
// (its creation time: a recreated bucket starts its revisions again).
// A later holding of the same lease has a greater (Epoch, Rev).
type Token struct {
	Epoch int64
	Rev   uint64
}

type tokenKey struct{}

// LeaseToken returns the token of the lease whose Hold gave ctx to its fn.
func LeaseToken(ctx context.Context) (Token, bool) {
	t, ok := ctx.Value(tokenKey{}).(Token)
	return t, ok
}

// epoch returns when the lease bucket was created, in unix nanoseconds; 0
// if NATS does not say (a token of epoch 0 is older than any other).
func (s *Stream) epoch(ctx context.Context) int64 {
	st, err := s.leases.Status(ctx)
	if err != nil {
		s.log.Warn("lease: bucket status", "err", err)
		return 0
	}
	if b, ok := st.(*jetstream.KeyValueBucketStatus); ok && b.StreamInfo() != nil {
		return b.StreamInfo().Created.UnixNano()
	}
	return 0
}
