package segment

// Forget removes every row of the given profiles (and of the profiles
// merged into them) from the behaviour index, and the dictionary values
// only those rows held (an erased person's email in a property, say),
// then rewrites the index file whole: nothing of them stays in memory or
// on disk. Erasure calls it (privacy).
func (x *Index) Forget(ids []int64) error {
	if x == nil || len(ids) == 0 {
		return nil
	}
	x.flushMu.Lock()
	x.mu.Lock()
	drop := map[uint32]bool{}
	for _, id := range ids {
		drop[uint32(id)] = true
	}
	canon := x.canon()
	for _, p := range x.parts {
		for r, id := range p.prof {
			if id != 0 && drop[canon(id)] {
				p.prof[r] = 0
				x.rows--
			}
		}
		for _, c := range p.cols {
			c.forgetUnused(p.prof)
		}
	}
	for merged, into := range x.alias {
		if drop[into] || drop[merged] {
			delete(x.alias, merged)
		}
	}
	for id := range drop {
		x.seen.unset(id)
	}
	x.dirty = true
	x.mu.Unlock()
	x.flushMu.Unlock()
	return x.Flush()
}

// forgetUnused clears the dictionary values no live row (prof != 0)
// refers to any more.
func (c *column) forgetUnused(prof []uint32) {
	used := make([]bool, len(c.dict))
	for i, v := range c.ids {
		if r := c.start + i; r < len(prof) && prof[r] != 0 {
			used[v] = true
		}
	}
	for v := 1; v < len(c.dict); v++ {
		if used[v] || c.dict[v] == nil {
			continue
		}
		if s, ok := canonical(c.dict[v]); ok {
			delete(c.lookup, s)
		}
		c.dict[v] = nil
	}
}

// unset removes id from the set.
func (b bitset) unset(id uint32) {
	if int(id/64) < len(b) {
		b[id/64] &^= 1 << (id % 64)
	}
}
