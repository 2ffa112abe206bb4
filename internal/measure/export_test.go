package measure

// SetChunkOccurrences changes how many occurrences a funnel holds at once
// (tests make it tiny, to cross chunk boundaries), and returns a function
// that restores it.
func SetChunkOccurrences(n int) func() {
	old := chunkOccurrences
	chunkOccurrences = n
	return func() { chunkOccurrences = old }
}

// ForgetUnions drops the unions reports keep (as if every day had
// changed since the last report).
func ForgetUnions(e *Rollups) {
	e.sets.mu.Lock()
	e.sets.unions, e.sets.unionBytes = nil, 0
	e.sets.mu.Unlock()
}
