package collect

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
)

// Authentication errors, answered with 401.
var (
	ErrNoWriteKey      = problem.New(problem.KindUnauthorized, "unauthorized", "no write key: send it as the HTTP Basic user name or as writeKey in the body")
	ErrUnknownWriteKey = problem.New(problem.KindUnauthorized, "unauthorized", "unknown write key")
	ErrDisabledSource  = problem.New(problem.KindUnauthorized, "unauthorized", "the source of this write key is disabled")
)

// ErrLookupsBusy is returned when too many write keys are being looked up
// in the store at once (a flood of unknown keys): answered 503.
var ErrLookupsBusy = errors.New("collect: too many write key lookups at once")

// maxLookups bounds the store lookups of write keys missing from the
// cache. Keys are checked before a request takes a slot, so without it a
// flood of random keys would reach the store unbounded.
const maxLookups = 32

// SourceFinder looks sources up by write key; store.Sources implements it.
type SourceFinder interface {
	SourceByWriteKey(ctx context.Context, key string) (*source.Source, error)
}

// Keys resolves write keys to sources, with a short-lived cache so that
// ingestion does not query the store on every request. A source created or
// disabled by another process (the CLI) is seen within the cache's TTL.
type Keys struct {
	finder   SourceFinder
	clock    clock.Clock
	ttl      time.Duration // for known keys
	negative time.Duration // for unknown keys

	mu      sync.RWMutex
	cache   map[string]keyEntry
	lookups chan struct{}
}

type keyEntry struct {
	src     *source.Source // nil: unknown key
	expires time.Time
}

// maxCachedKeys bounds the cache, which a client sending random keys
// would otherwise grow without end.
const maxCachedKeys = 10_000

// NewKeys returns a write-key resolver over finder.
func NewKeys(finder SourceFinder, clk clock.Clock, ttl time.Duration) *Keys {
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	return &Keys{finder: finder, clock: clk, ttl: ttl, negative: min(ttl, time.Second), cache: map[string]keyEntry{},
		lookups: make(chan struct{}, maxLookups)}
}

// Source returns the enabled source that owns key.
func (k *Keys) Source(ctx context.Context, key string) (*source.Source, error) {
	if key == "" {
		return nil, ErrNoWriteKey
	}
	now := k.clock.Now()
	k.mu.RLock()
	ent, ok := k.cache[key]
	k.mu.RUnlock()
	if !ok || now.After(ent.expires) {
		select {
		case k.lookups <- struct{}{}:
		default:
			if !ok {
				return nil, ErrLookupsBusy
			}
			// A known key past its TTL: its last answer serves until the
			// store can be asked again.
			return ent.check()
		}
		src, err := k.finder.SourceByWriteKey(ctx, key)
		<-k.lookups
		ttl := k.ttl
		switch {
		case errors.Is(err, store.ErrNotFound):
			src, ttl = nil, k.negative
		case err != nil && ok && ctx.Err() == nil:
			// The store cannot answer (PostgreSQL restarting): a known
			// key's last answer serves meanwhile, so that a clustered
			// node, whose events go to the stream, keeps taking them
			// (docs/scale.md). Asked again at the next request.
			return ent.check()
		case err != nil:
			return nil, fmt.Errorf("collect: look up write key: %w", err)
		}
		ent = keyEntry{src: src, expires: now.Add(ttl)}
		k.mu.Lock()
		if len(k.cache) >= maxCachedKeys {
			clear(k.cache)
		}
		k.cache[key] = ent
		k.mu.Unlock()
	}
	return ent.check()
}

func (ent keyEntry) check() (*source.Source, error) {
	switch {
	case ent.src == nil:
		return nil, ErrUnknownWriteKey
	case !ent.src.Enabled():
		return nil, ErrDisabledSource
	}
	return ent.src, nil
}

// Forget drops key from the cache, so that a change made in this process
// (a source disabled through the API) takes effect at once.
func (k *Keys) Forget(key string) {
	k.mu.Lock()
	delete(k.cache, key)
	k.mu.Unlock()
}

// BasicWriteKey extracts the write key from an Authorization header in
// Segment's style: HTTP Basic with the key as user name and an empty
// password. Clients differ on whether they send the colon; both work.
func BasicWriteKey(header string) string {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		// Some clients strip the padding.
		if raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(strings.TrimSpace(cred), "=")); err != nil {
			return ""
		}
	}
	user, _, _ := strings.Cut(string(raw), ":")
	return user
}
