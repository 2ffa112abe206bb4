package measure

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/parcours/parcours/internal/store"
)

// The sets of profiles the stage keeps per day, behind every distinct
// count (a profile who visits twice is one visitor).
const (
	setVisitors      = "visitors"       // visited (dims: channel, source, store)
	setBuyers        = "buyers"         // had a counted order that day (channel, source, store, fulfillment)
	setNewCustomers  = "new_customers"  // their first order was that day (channel, store, acquisition)
	setNewVisitors   = "new_visitors"   // first seen that day (acquisition)
	setReached       = "reached"        // a message was sent or delivered to them (channel, campaign)
	setLoyaltyActive = "loyalty_active" // earned or redeemed loyalty points (total only)
	// setAll holds, per day, every profile in any set of the day (and
	// maybe some no longer in one): a merge reads it to find the days
	// whose sets name the merged profile, without reading them all.
	setAll = "_all"
)

// setKey names one set: a day, a set, a dimension and its value (both ""
// for the total).
type setKey struct {
	day              int32
	name, dim, value string
}

// setCache holds the sets of the days the stage is writing, read from the
// store the first time a day is touched, and the ones changed since the
// last flush. Roaring bitmaps keep a day of a million visitors in a few
// hundred kilobytes.
type setCache struct {
	st    store.MeasureRollups
	days  map[int32]map[setKey]*roaring.Bitmap // loaded days
	dirty map[setKey]bool
	// all is the setAll of each day read so far (kept across flushes:
	// merges read it), allDirty the ones changed since the last flush.
	all      map[int32]*roaring.Bitmap
	allDirty map[int32]bool
}

func newSetCache(st store.MeasureRollups) *setCache {
	return &setCache{st: st, days: map[int32]map[setKey]*roaring.Bitmap{}, dirty: map[setKey]bool{},
		all: map[int32]*roaring.Bitmap{}, allDirty: map[int32]bool{}}
}

// load reads the sets of the days in [from, to] not loaded yet.
func (c *setCache) load(ctx context.Context, from, to int32) error {
	missing := false
	for d := from; d <= to; d++ {
		if c.days[d] == nil {
			missing = true
			break
		}
	}
	if !missing {
		return nil
	}
	rows, err := c.st.MeasureSets(ctx, store.SetQuery{From: from, To: to})
	if err != nil {
		return fmt.Errorf("measure: load the sets of days %s to %s: %w", dayString(from), dayString(to), err)
	}
	fresh := map[int32]bool{}
	for d := from; d <= to; d++ {
		if c.days[d] == nil {
			c.days[d] = map[setKey]*roaring.Bitmap{}
			fresh[d] = true
		}
	}
	for _, r := range rows {
		if !fresh[r.Day] || (r.Name == setAll && c.all[r.Day] != nil) {
			continue
		}
		b := roaring.New()
		if err := b.UnmarshalBinary(r.Bits); err != nil {
			return fmt.Errorf("measure: set %s/%s=%s of %s: %w", r.Name, r.Dim, r.Value, dayString(r.Day), err)
		}
		if r.Name == setAll {
			c.all[r.Day] = b
			continue
		}
		c.days[r.Day][setKey{r.Day, r.Name, r.Dim, r.Value}] = b
	}
	for d := range fresh {
		if c.all[d] == nil {
			c.all[d] = roaring.New()
		}
	}
	return nil
}

// loadAll reads the setAll of the days in [from, to] not read yet.
func (c *setCache) loadAll(ctx context.Context, from, to int32) error {
	missing := false
	for d := from; d <= to && !missing; d++ {
		missing = c.all[d] == nil
	}
	if !missing {
		return nil
	}
	rows, err := c.st.MeasureSets(ctx, store.SetQuery{From: from, To: to, Names: []string{setAll}})
	if err != nil {
		return fmt.Errorf("measure: load the profiles of days %s to %s: %w", dayString(from), dayString(to), err)
	}
	for _, r := range rows {
		if c.all[r.Day] != nil {
			continue
		}
		b := roaring.New()
		if err := b.UnmarshalBinary(r.Bits); err != nil {
			return fmt.Errorf("measure: the profiles of %s: %w", dayString(r.Day), err)
		}
		c.all[r.Day] = b
	}
	return nil
}

// present returns the days in [from, to] whose sets may hold id (loadAll
// first).
func (c *setCache) present(from, to int32, id int64) []int32 {
	var out []int32
	for d := from; d <= to; d++ {
		if b := c.all[d]; b != nil && b.Contains(uint32(id)) {
			out = append(out, d)
		}
	}
	return out
}

// add puts id in the set (its day must be loaded). A day whose load
// failed is not there: nothing is added, the batch fails with the load's
// error, and the stage starts over from its checkpoint.
func (c *setCache) add(k setKey, id int64) {
	day := c.days[k.day]
	if id <= 0 || id > 1<<32-1 || day == nil {
		return
	}
	b := day[k]
	if b == nil {
		b = roaring.New()
		day[k] = b
	}
	if b.CheckedAdd(uint32(id)) {
		c.dirty[k] = true
		if c.all[k.day].CheckedAdd(uint32(id)) {
			c.allDirty[k.day] = true
		}
	}
}

// remove takes id out of the set (its day must be loaded).
func (c *setCache) remove(k setKey, id int64) {
	if b := c.days[k.day][k]; b != nil && b.CheckedRemove(uint32(id)) {
		c.dirty[k] = true
	}
}

// has reports whether id is in the set (its day must be loaded).
func (c *setCache) has(k setKey, id int64) bool {
	b := c.days[k.day][k]
	return b != nil && b.Contains(uint32(id))
}

// replace moves merged into into, in every set of day d (loaded).
func (c *setCache) replace(d int32, merged, into int64) {
	for k, b := range c.days[d] {
		if b.CheckedRemove(uint32(merged)) {
			b.Add(uint32(into))
			c.dirty[k] = true
		}
	}
	if a := c.all[d]; a != nil && a.CheckedRemove(uint32(merged)) {
		a.Add(uint32(into))
		c.allDirty[d] = true
	}
}

// changed returns the sets changed since the last flush, serialised, in
// a stable order; version is stamped on each.
func (c *setCache) changed(version int64) ([]store.MeasureSet, error) {
	keys := make([]setKey, 0, len(c.dirty))
	for k := range c.dirty {
		keys = append(keys, k)
	}
	for d := range c.allDirty {
		keys = append(keys, setKey{d, setAll, "", ""})
	}
	slices.SortFunc(keys, func(a, b setKey) int {
		return cmp.Or(cmp.Compare(a.day, b.day), strings.Compare(a.name, b.name), strings.Compare(a.dim, b.dim), strings.Compare(a.value, b.value))
	})
	out := make([]store.MeasureSet, 0, len(keys))
	for _, k := range keys {
		m := store.MeasureSet{Day: k.day, Name: k.name, Dim: k.dim, Value: k.value, Version: version}
		b := c.days[k.day][k]
		if k.name == setAll {
			b = c.all[k.day]
		}
		if b != nil && !b.IsEmpty() {
			b.RunOptimize()
			bits, err := b.ToBytes()
			if err != nil {
				return nil, fmt.Errorf("measure: encode set %s: %w", k.name, err)
			}
			m.Bits = bits
		}
		out = append(out, m)
	}
	return out, nil
}

// allDays is how many days of setAll stay in memory (merges read them;
// older days are read again when a merge needs them).
const allDays = 120

// flushed forgets what changed (it is stored) and keeps in memory only the
// days from keepFrom on: the ones live traffic writes.
func (c *setCache) flushed(keepFrom int32) {
	clear(c.dirty)
	clear(c.allDirty)
	for d := range c.days {
		if d < keepFrom {
			delete(c.days, d)
		}
	}
	for d := range c.all {
		if d < keepFrom-allDays {
			delete(c.all, d)
		}
	}
}

// reset forgets everything (after a failed flush, the store has the truth).
func (c *setCache) reset() {
	clear(c.dirty)
	clear(c.days)
	clear(c.all)
	clear(c.allDirty)
}
