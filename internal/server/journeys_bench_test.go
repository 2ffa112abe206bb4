package server_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/server"
)

// timedSender records when each profile's message was handed over.
type timedSender struct {
	mu   sync.Mutex
	sent map[int64]time.Time
}

func (s *timedSender) Send(_ context.Context, r journey.SendRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sent[r.Profile]; !ok {
		s.sent[r.Profile] = time.Now()
	}
	return nil
}

// BenchmarkEventToSend sends 1,000 events/s for 3 seconds (a batch of 10
// every 10 ms, each event a new customer adding to their cart) to a server
// on the embedded store whose journey's first step is a send, and reports
// the latency from the moment the event was posted to the moment the
// engine handed its message to the sender: ingestion, durable commit,
// unify, segments, journey entry and the step.
func BenchmarkEventToSend(b *testing.B) {
	for range b.N {
		ts := &timedSender{sent: map[int64]time.Time{}}
		h := newHarness(b, func(o *server.Options) { o.JourneySender = ts })
		if code, resp := h.post("/api/v1/journeys", `{"id":"cart","name":"Cart","triggers":[{"event":"Product Added"}],
			"steps":[{"send":{"channel":"email","template":"offer"}}]}`); code != 200 {
			b.Fatalf("%d %v", code, resp)
		}
		const batches, size = 300, 10
		posted := postPaced(b, h, batches, size, cartCustomer)
		deadline := time.Now().Add(30 * time.Second)
		for {
			ts.mu.Lock()
			n := len(ts.sent)
			ts.mu.Unlock()
			if n == batches*size {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d messages handed over after 30 s", n, batches*size)
			}
			time.Sleep(20 * time.Millisecond)
		}
		ids := make([]identity.Identifier, 0, len(posted))
		for u := range posted {
			ids = append(ids, identity.Identifier{Kind: identity.UserID, Value: u})
		}
		holders, err := h.st.Holders(context.Background(), ids)
		if err != nil {
			b.Fatal(err)
		}
		var lat []time.Duration
		for _, id := range ids {
			lat = append(lat, ts.sent[holders[id]].Sub(posted[id.Value]))
		}
		slices.Sort(lat)
		ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(ms(0.5), "p50-ms")
		b.ReportMetric(ms(0.99), "p99-ms")
		b.ReportMetric(ms(1), "max-ms")
	}
}
