package segment

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
)

var idxNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// indexSet is behaviour segments over properties of every kind: strings
// (case-insensitive), numbers, booleans, nested keys, sums, windows.
func indexSet(t *testing.T) *Set {
	t.Helper()
	defs, err := ParseYAML("index", stringsReader(`
kind: segment
id: shoes
name: shoes
where: {performed: {event: Product Viewed, where: {category: SHOES, product.brand: [acme, zed]}, within: 7d, count: {gte: 2}}}
---
kind: segment
id: spenders
name: spenders
where: {performed: {event: Order Completed, sum: {property: total, gte: 300}}}
---
kind: segment
id: idle
name: idle
where:
  all:
    - not: {performed: {event: Order Completed, within: 30d}}
    - any:
        - member: shoes
        - performed: {event: Product Viewed, where: {in_stock: true, price: 20}}
`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet(defs)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// randomBatch is n events of random profiles (1..50) over the last 40
// days, some of them merges.
func randomBatch(r *rand.Rand, seq *int64, n int) ([]*event.Event, []int64, map[int][2]int64) {
	var batch []*event.Event
	var owners []int64
	merges := map[int][2]int64{}
	for range n {
		*seq++
		e := &event.Event{Seq: *seq, Type: event.Track, Channel: "web",
			Timestamp: idxNow.Add(-time.Duration(r.IntN(40*24)) * time.Hour)}
		owner := int64(1 + r.IntN(50))
		switch r.IntN(10) {
		case 0:
			e.Channel, e.Event = "internal", "Profile Merged"
			into := int64(1 + r.IntN(50))
			if into != owner {
				merges[len(batch)] = [2]int64{into, owner}
			}
		case 1, 2, 3:
			e.Event = "Order Completed"
			e.Properties = fmt.Appendf(nil, `{"total":%d,"order_id":"o%d"}`, 50+r.IntN(200), *seq)
		default:
			e.Event = "Product Viewed"
			props := map[string]any{"category": []string{"shoes", "Shoes ", "bags"}[r.IntN(3)],
				"product": map[string]any{"brand": []string{"acme", "zed", "other"}[r.IntN(3)]},
				"price":   []any{20, 20.0, "20", 35}[r.IntN(4)], "in_stock": r.IntN(2) == 0}
			e.Properties, _ = json.Marshal(props)
		}
		batch = append(batch, e)
		owners = append(owners, owner)
	}
	return batch, owners, merges
}

// referenceMembers evaluates set the way the live stage does: facts
// observed into each profile's state, merges folded.
func referenceMembers(set *Set, events []*event.Event, owners []int64, merges map[int64]int64) map[string][]int64 {
	states := map[int64]*State{}
	canon := func(id int64) int64 {
		for {
			into, ok := merges[id]
			if !ok {
				return id
			}
			id = into
		}
	}
	for i, e := range events {
		if e.Channel == "internal" {
			continue
		}
		id := canon(owners[i])
		if states[id] == nil {
			states[id] = NewState()
		}
		set.Observe(states[id], e, idxNow)
	}
	out := map[string][]int64{}
	for id := int64(1); id <= 50; id++ {
		if _, merged := merges[id]; merged {
			continue
		}
		st := states[id]
		if st == nil {
			st = NewState()
		}
		set.Prune(st, idxNow)
		ev := &evaluation{in: Input{State: st}, now: idxNow, members: map[string]bool{}}
		for _, c := range set.segs {
			ev.members[c.def.ID] = ev.cond(&c.def.Where)
			if ev.members[c.def.ID] {
				out[c.def.ID] = append(out[c.def.ID], id)
			}
		}
	}
	return out
}

func indexMembers(t *testing.T, x *Index, set *Set) map[string][]int64 {
	t.Helper()
	m, err := x.members(set, idxNow)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int64{}
	for seg, b := range m {
		b.each(func(id uint32) bool { out[seg] = append(out[seg], int64(id)); return true })
	}
	return out
}

// TestIndexEqualsFacts: over random streams with merges, the index's
// answers equal the per-profile evaluation the live stage does, in
// memory, after a reopen from the file, and whatever the batch sizes.
func TestIndexEqualsFacts(t *testing.T) {
	set := indexSet(t)
	for seed := range uint64(10) {
		r := rand.New(rand.NewPCG(seed, 7))
		path := filepath.Join(t.TempDir(), "behaviour.idx")
		x, err := OpenIndex(path)
		if err != nil {
			t.Fatal(err)
		}
		var all []*event.Event
		var owners []int64
		merged := map[int64]int64{}
		var seq int64
		// Every profile is seen first (an identify).
		for id := int64(1); id <= 50; id++ {
			seq++
			all = append(all, &event.Event{Seq: seq, Type: event.Identify, Channel: "web", Timestamp: idxNow})
			owners = append(owners, id)
		}
		x.add(all, owners, nil)
		for range 8 {
			batch, ow, ms := randomBatch(r, &seq, 1+r.IntN(200))
			for i := range batch {
				m, ok := ms[i]
				if !ok {
					continue
				}
				// Like unify, never merge a profile merged away, or
				// into one.
				_, gone := merged[m[0]]
				_, gone2 := merged[m[1]]
				if gone || gone2 {
					delete(ms, i)
					continue
				}
				merged[m[1]] = m[0]
			}
			x.add(batch, ow, ms)
			all = append(all, batch...)
			owners = append(owners, ow...)
			if r.IntN(2) == 0 {
				if err := x.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := referenceMembers(set, all, owners, merged)
		if got := indexMembers(t, x, set); !equalMembers(got, want) {
			t.Fatalf("seed %d: index %v, facts %v", seed, got, want)
		}
		if err := x.Close(); err != nil {
			t.Fatal(err)
		}
		y, err := OpenIndex(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := indexMembers(t, y, set); !equalMembers(got, want) {
			t.Fatalf("seed %d, reopened: index %v, facts %v", seed, got, want)
		}
		if y.Upto() != seq {
			t.Fatalf("seed %d: reopened at %d, want %d", seed, y.Upto(), seq)
		}
		y.Close()
	}
}

func equalMembers(a, b map[string][]int64) bool {
	for _, seg := range []string{"shoes", "spenders", "idle"} {
		if !slices.Equal(a[seg], b[seg]) {
			return false
		}
	}
	return true
}

// TestIndexTornTail: a record cut short by a crash is dropped at open;
// what came before it is kept, and appending goes on after it.
func TestIndexTornTail(t *testing.T) {
	set := indexSet(t)
	r := rand.New(rand.NewPCG(1, 2))
	path := filepath.Join(t.TempDir(), "behaviour.idx")
	x, err := OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	b, ow, _ := randomBatch(r, &seq, 300)
	x.add(b, ow, nil)
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	first := indexMembers(t, x, set)
	good, _ := os.Stat(path)
	b, ow, _ = randomBatch(r, &seq, 300)
	x.add(b, ow, nil)
	rows := x.Stats().Rows
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	full, _ := os.Stat(path)
	if full.Size() <= good.Size() {
		t.Fatal("second record not written")
	}
	// The crash: the second record half written.
	if err := os.Truncate(path, good.Size()+(full.Size()-good.Size())/2); err != nil {
		t.Fatal(err)
	}
	y, err := OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	if y.Upto() != 300 {
		t.Fatalf("upto %d after a torn record, want 300", y.Upto())
	}
	if got := indexMembers(t, y, set); !equalMembers(got, first) {
		t.Fatalf("after a torn record: %v, want %v", got, first)
	}
	// The lost events come again (from the log) and are appended after
	// the good record.
	y.add(b, ow, nil)
	if err := y.Close(); err != nil {
		t.Fatal(err)
	}
	z, err := OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if z.Upto() != 600 || z.Stats().Rows != rows {
		t.Fatalf("reopened with upto %d and %d rows, want 600 and %d", z.Upto(), z.Stats().Rows, rows)
	}
}

// TestIndexDropsWideProperties: a property with too many distinct values
// is not indexed, and a condition on it is refused (and answered from
// the timelines), not answered wrong.
func TestIndexDropsWideProperties(t *testing.T) {
	x := NewIndex()
	var batch []*event.Event
	var owners []int64
	for i := range maxDict + 1 {
		batch = append(batch, &event.Event{Seq: int64(i + 1), Type: event.Track, Event: "Order Completed", Channel: "web",
			Timestamp: idxNow.Add(-time.Hour), Properties: fmt.Appendf(nil, `{"order_id":"o%d","total":10}`, i)})
		owners = append(owners, 1)
	}
	x.add(batch, owners, nil)
	defs, _ := ParseYAML("x", stringsReader(`
kind: segment
id: one-order
name: one order
where: {performed: {event: Order Completed, where: {order_id: o1}}}
`))
	set, _ := NewSet(defs)
	if _, err := x.members(set, idxNow); err == nil {
		t.Fatal("a condition on a property not indexed was answered")
	}
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

// TestIndexFlushWhileAdding: batches keep being added while flushes
// (whole rewrites too) encode and write; what was added during a flush
// is in the next one, and the file reopens to the same answers.
func TestIndexFlushWhileAdding(t *testing.T) {
	set := indexSet(t)
	path := filepath.Join(t.TempDir(), "behaviour.idx")
	x, err := OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	mem := NewIndex()
	r := rand.New(rand.NewPCG(3, 4))
	var seq int64
	var batches [][]*event.Event
	var owners [][]int64
	for range 40 {
		b, ow, _ := randomBatch(r, &seq, 200)
		batches, owners = append(batches, b), append(owners, ow)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range batches {
			x.add(batches[i], owners[i], nil)
		}
	}()
	for i := 0; ; i++ {
		if i%3 == 0 {
			x.mu.Lock()
			x.dirty = true // a whole rewrite
			x.mu.Unlock()
		}
		if err := x.Flush(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		default:
			continue
		}
		break
	}
	for i := range batches {
		mem.add(batches[i], owners[i], nil)
	}
	want := indexMembers(t, mem, set)
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	y, err := OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if got := indexMembers(t, y, set); !equalMembers(got, want) || y.Stats().Rows != mem.Stats().Rows {
		t.Fatalf("reopened after flushes during adds: %v (%d rows), want %v (%d rows)", got, y.Stats().Rows, want, mem.Stats().Rows)
	}
}
