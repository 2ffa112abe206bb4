package recommend

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/gen"
)

// genEvents decodes a generated period.
func genEvents(b *testing.B, customers, days int) []*event.Event {
	b.Helper()
	g := gen.New(gen.Options{Customers: customers, Days: days, Seed: 1})
	var out []*event.Event
	for {
		ge, ok := g.Next()
		if !ok {
			return out
		}
		var e event.Event
		if err := json.Unmarshal(ge.JSON, &e); err != nil {
			b.Fatal(err)
		}
		e.Seq = int64(len(out) + 1)
		out = append(out, &e)
	}
}

// BenchmarkLearn is the model's cost per event of a generated log (the
// events decoded already, as the stage receives them).
func BenchmarkLearn(b *testing.B) {
	evs := genEvents(b, 2000, 30)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		m := NewModel(Options{})
		m.LearnBatch(evs)
		n += len(evs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
}

// BenchmarkSnapshot50K saves and loads a model of 50,000 products whose
// 64 neighbour slots are all full: the worst case of the bound.
func BenchmarkSnapshot50K(b *testing.B) {
	m := NewModel(Options{})
	for i := range 50_000 {
		it := Item{ID: fmt.Sprintf("P%06d", i), SKU: fmt.Sprintf("SKU-%06d", i), Name: "Produit", Category: "shoes", Price: 59.9,
			URL: "https://shop.example/p/" + fmt.Sprint(i), ImageURL: "https://cdn.example/" + fmt.Sprint(i) + ".jpg"}
		m.item(&it)
	}
	for i := range m.nbrs {
		m.occ[i], m.bought[i] = 10, 1
		for k := range 64 {
			m.nbrs[i] = append(m.nbrs[i], slot{int32((i + k + 1) % 50_000), float64(k)})
		}
	}
	file := b.TempDir() + "/m"
	b.ResetTimer()
	for b.Loop() {
		if err := m.WriteFile(file); err != nil {
			b.Fatal(err)
		}
		if ok, err := NewModel(Options{}).ReadFile(file); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
	b.StopTimer()
	fi, _ := os.Stat(file)
	b.ReportMetric(float64(fi.Size())/1e6, "MB/file")
	b.ReportMetric(float64(m.Stats().Bytes)/1e6, "MB/model")
}
