package recommend

import (
	"encoding/json"
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
