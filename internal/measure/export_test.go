package measure

// SetChunkOccurrences changes how many occurrences a funnel holds at once
// (tests make it tiny, to cross chunk boundaries), and returns a function
// that restores it.
func SetChunkOccurrences(n int) func() {
	old := chunkOccurrences
	chunkOccurrences = n
	return func() { chunkOccurrences = old }
}
