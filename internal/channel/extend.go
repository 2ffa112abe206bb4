package channel

import (
	"fmt"
	"slices"
	"sync/atomic"
)

// table holds the descriptors. It only changes in tests (Extend); an
// atomic pointer keeps the readers of a running pipeline race-free while
// a test swaps it, at the cost of one atomic load per read.
var table atomic.Pointer[[]Descriptor]

func init() { table.Store(&descriptors) }

// Extend adds d to the table and returns the function that takes it out
// again. It exists for tests only, which show that a channel described
// here is accepted everywhere with nothing else changed
// (TestAddingAChannel in internal/server): production code never calls
// it, and tests that call it must not run in parallel. It panics on a
// descriptor without a name or with a name already taken.
func Extend(d Descriptor) (restore func()) {
	old := table.Load()
	if d.Name == "" || d.Name == Best || slices.ContainsFunc(*old, func(o Descriptor) bool { return o.Name == d.Name }) {
		panic(fmt.Sprintf("channel: Extend: %q is empty or already a channel", d.Name))
	}
	next := append(slices.Clone(*old), d)
	table.Store(&next)
	return func() { table.Store(old) }
}
