package server_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
)

// timedProvider is an email provider that records when each address's
// message reached it.
type timedProvider struct {
	mu   sync.Mutex
	sent map[string]time.Time
}

func (p *timedProvider) Name() string              { return "timed" }
func (p *timedProvider) Channel() provider.Channel { return provider.Email }
func (p *timedProvider) Close() error              { return nil }
func (p *timedProvider) Send(_ context.Context, m *provider.Message) (provider.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.sent[m.To]; !ok {
		p.sent[m.To] = time.Now()
	}
	return provider.Result{ProviderID: m.Key}, nil
}

// BenchmarkEventToProvider is the end-to-end figure: 1,000
// events/s for 3 seconds (every 10 ms a batch of 5 customers, each an
// identify with an email and its opt-in, then a Product Added) to a server
// on the embedded store whose journey's first step sends an email through
// the real message pipeline (template, consent, outbox, workers) to a
// provider. It reports the latency from the moment the batch was posted to
// the moment the provider got the customer's message.
func BenchmarkEventToProvider(b *testing.B) {
	for range b.N {
		tp := &timedProvider{sent: map[string]time.Time{}}
		h := newHarness(b, func(o *server.Options) {
			o.Providers = message.ProviderSet{provider.Email: {Provider: tp}}
			o.Messages.BaseURL = "https://shop.example"
		})
		if code, resp := h.post("/api/v1/templates", `{"id":"offer","topic":"offers",
			"body":{"email":{"subject":"Votre panier","html":"<p>-10% sur votre panier</p>"}}}`); code != 201 {
			b.Fatalf("template: %d %v", code, resp)
		}
		if code, resp := h.post("/api/v1/journeys", `{"id":"cart","name":"Cart","triggers":[{"event":"Product Added"}],
			"steps":[{"send":{"channel":"email","template":"offer"}}]}`); code != 200 {
			b.Fatalf("journey: %d %v", code, resp)
		}
		const batches, size = 300, 5
		posted := map[string]time.Time{}
		for u, at := range postPaced(b, h, batches, size, emailCustomer) {
			posted[u+"@example.fr"] = at
		}
		if testing.Verbose() {
			ctx := context.Background()
			last, _ := h.st.LastSeq(ctx)
			line := fmt.Sprintf("after posting: log %d", last)
			for _, c := range []string{"unify", "segment", "message", "journey"} {
				cp, _ := h.st.Checkpoint(ctx, c)
				line += fmt.Sprintf(", %s %d", c, cp)
			}
			tp.mu.Lock()
			line += fmt.Sprintf(", at the provider %d", len(tp.sent))
			tp.mu.Unlock()
			b.Log(line)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			tp.mu.Lock()
			n := len(tp.sent)
			tp.mu.Unlock()
			if n == batches*size {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d messages reached the provider after 30 s", n, batches*size)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var lat []time.Duration
		for addr, at := range posted {
			lat = append(lat, tp.sent[addr].Sub(at))
		}
		slices.Sort(lat)
		ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(ms(0.5), "p50-ms")
		b.ReportMetric(ms(0.99), "p99-ms")
		b.ReportMetric(ms(1), "max-ms")
	}
}
