package measure

import (
	"context"
	"fmt"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/parcours/parcours/internal/store"
)

// setReader keeps the sets reports decoded, by key and version: a report
// asks the store which sets its range has and at which version (no bits),
// and reads again only the ones that changed since (mostly today's). Past
// days do not change, so a dashboard reads their sets once.
type setReader struct {
	mu    sync.Mutex
	sets  map[setKey]cachedSet
	bytes int64
	limit int64 // past it, the cache is emptied
	// unions keeps the unions of ranges reports computed, with the
	// signature of the days' versions they were computed from: the same
	// range asked again (a dashboard refreshed) is not recomputed unless a
	// day in it changed.
	unions     map[unionKey]cachedUnion
	unionBytes int64
}

type cachedUnion struct {
	sig  [3]int64
	bits *roaring.Bitmap
}

// union returns the cached union of key if sig matches, else computes it
// with fn and keeps it.
func (r *setReader) union(key unionKey, sig [3]int64, fn func() *roaring.Bitmap) *roaring.Bitmap {
	r.mu.Lock()
	c, ok := r.unions[key]
	r.mu.Unlock()
	if ok && c.sig == sig {
		return c.bits
	}
	u := fn()
	size := int64(u.GetSizeInBytes())
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unions == nil || r.unionBytes+size > r.limit {
		r.unions, r.unionBytes = map[unionKey]cachedUnion{}, 0
	}
	if old, ok := r.unions[key]; ok {
		r.unionBytes -= int64(old.bits.GetSizeInBytes())
	}
	r.unions[key] = cachedUnion{sig, u}
	r.unionBytes += size
	return u
}

type cachedSet struct {
	version int64
	bits    *roaring.Bitmap
	size    int64
}

func newSetReader(limit int64) *setReader {
	return &setReader{sets: map[setKey]cachedSet{}, limit: limit}
}

// read calls fn with every set of names and dims in [from, to].
func (r *setReader) read(ctx context.Context, st store.MeasureRollups, from, to int32, names, dims []string,
	fn func(name string, dv dimval, day int32, b *roaring.Bitmap, version int64)) error {
	keys, err := st.MeasureSets(ctx, store.SetQuery{From: from, To: to, Names: names, Dims: dims, NoBits: true})
	if err != nil {
		return fmt.Errorf("measure: sets: %w", err)
	}
	r.mu.Lock()
	staleFrom, staleTo := int32(1<<31-1), int32(-1<<31)
	for _, k := range keys {
		c, ok := r.sets[setKey{k.Day, k.Name, k.Dim, k.Value}]
		if !ok || c.version != k.Version {
			staleFrom, staleTo = min(staleFrom, k.Day), max(staleTo, k.Day)
		}
	}
	r.mu.Unlock()
	fresh := map[setKey]cachedSet{}
	if staleFrom <= staleTo {
		rows, err := st.MeasureSets(ctx, store.SetQuery{From: staleFrom, To: staleTo, Names: names, Dims: dims})
		if err != nil {
			return fmt.Errorf("measure: sets: %w", err)
		}
		for _, row := range rows {
			b := roaring.New()
			if err := b.UnmarshalBinary(row.Bits); err != nil {
				return fmt.Errorf("measure: set %s/%s=%s of %s: %w", row.Name, row.Dim, row.Value, dayString(row.Day), err)
			}
			fresh[setKey{row.Day, row.Name, row.Dim, row.Value}] = cachedSet{row.Version, b, int64(len(row.Bits))}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, c := range fresh {
		if old, ok := r.sets[k]; ok {
			r.bytes -= old.size
		}
		r.sets[k] = c
		r.bytes += c.size
	}
	for _, k := range keys {
		key := setKey{k.Day, k.Name, k.Dim, k.Value}
		c, ok := r.sets[key]
		if !ok {
			continue // written after the listing: the next report reads it
		}
		fn(k.Name, dimval{k.Dim, k.Value}, k.Day, c.bits, c.version)
	}
	if r.bytes > r.limit {
		clear(r.sets)
		r.bytes = 0
	}
	return nil
}
