package measure

import (
	"context"
	"sync"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/unify"
)

// holderCache remembers which profile holds each identifier the stage has
// looked up: finding an event's profile was most of the stage's cost (a
// point query per identifier of every event), and customers come back.
// An identifier only changes profile when its profile is merged into
// another: the stage tells the cache at each Profile Merged it counts
// (an event resolved from the cache before its merge is counted is mapped
// through the merge then). An unmerge, which announces nothing, is not
// seen: rebuild the rollups after one (docs/measure.md).
type holderCache struct {
	st unify.Holders

	mu        sync.Mutex
	holders   map[identity.Identifier]int64
	byProfile map[int64][]identity.Identifier
}

// maxCachedHolders bounds the cache (about 100 bytes an entry); past it,
// it starts again empty.
const maxCachedHolders = 1 << 18

func newHolderCache(st unify.Holders) *holderCache {
	return &holderCache{st: st, holders: map[identity.Identifier]int64{}, byProfile: map[int64][]identity.Identifier{}}
}

// Holders returns the holders of ids, from the cache or the store.
func (c *holderCache) Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error) {
	out := make(map[identity.Identifier]int64, len(ids))
	var missing []identity.Identifier
	c.mu.Lock()
	for _, id := range ids {
		if p, ok := c.holders[id]; ok {
			out[id] = p
		} else {
			missing = append(missing, id)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	got, err := c.st.Holders(ctx, missing)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.holders)+len(got) > maxCachedHolders {
		clear(c.holders)
		clear(c.byProfile)
	}
	for id, p := range got {
		out[id] = p
		if p != 0 {
			c.holders[id] = p
			c.byProfile[p] = append(c.byProfile[p], id)
		}
	}
	return out, nil
}

// merged records that merged's identifiers now belong to into.
func (c *holderCache) merged(into, merged int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range c.byProfile[merged] {
		c.holders[id] = into
	}
	c.byProfile[into] = append(c.byProfile[into], c.byProfile[merged]...)
	delete(c.byProfile, merged)
}
