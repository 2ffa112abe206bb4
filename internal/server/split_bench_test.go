package server_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
)

// splitSender records when the journey engine hands each profile's send
// over, then passes it to the message pipeline.
type splitSender struct {
	mu sync.Mutex
	h  **harness
	at map[int64]time.Time
}

func (s *splitSender) Send(ctx context.Context, r journey.SendRequest) error {
	t0 := time.Now()
	s.mu.Lock()
	s.at[r.Profile] = t0
	s.mu.Unlock()
	_, err := (*s.h).srv.Messages().Send(ctx, message.Request{ProfileID: r.Profile, Channel: provider.Channel(r.Channel), Topic: r.Topic,
		TemplateID: r.Template, Journey: r.Journey, Version: r.Version, Step: r.Step, Enrolment: strconv.FormatInt(r.Enrolment, 10)})
	return err
}

// BenchmarkSplitLatency is the diagnostic behind BenchmarkEventToProvider:
// the same load, with the latency split at the journey's send (upstream:
// ingestion, unify, segments, consent, the journey; downstream: the
// message pipeline to the provider) and the mean lag of each stage behind
// the log while the load runs. Run it with -v.
func BenchmarkSplitLatency(b *testing.B) {
	var hp *harness
	ss := &splitSender{h: &hp, at: map[int64]time.Time{}}
	tp := &timedProvider{sent: map[string]time.Time{}}
	h := newHarness(b, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.Email: {Provider: tp}}
		o.Messages.BaseURL = "https://shop.example"
		o.JourneySender = ss
	})
	hp = h
	h.post("/api/v1/templates", `{"id":"offer","topic":"offers","body":{"email":{"subject":"S","html":"<p>x</p>"}}}`)
	h.post("/api/v1/journeys", `{"id":"cart","name":"Cart","triggers":[{"event":"Product Added"}],"steps":[{"send":{"channel":"email","template":"offer"}}]}`)
	lag := map[string]int64{}
	samples := 0
	stop := make(chan struct{})
	var sw sync.WaitGroup
	sw.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			ctx := context.Background()
			last, _ := h.st.LastSeq(ctx)
			for _, c := range []string{"unify", "segment", "message", "journey"} {
				cp, _ := h.st.Checkpoint(ctx, c)
				lag[c] += last - cp
			}
			samples++
		}
	})
	posted := postPaced(b, h, 300, 5, emailCustomer)
	close(stop)
	sw.Wait()
	for c, v := range lag {
		b.Logf("mean lag of %s: %d events", c, v/int64(max(1, samples)))
	}
	time.Sleep(3 * time.Second)
	var toSend, toProv []time.Duration
	for u, at := range posted {
		_, p := h.api("/api/v1/profiles?user_id=" + u)
		id := int64(p["id"].(float64))
		ss.mu.Lock()
		s := ss.at[id]
		ss.mu.Unlock()
		tp.mu.Lock()
		pv := tp.sent[u+"@example.fr"]
		tp.mu.Unlock()
		if s.IsZero() || pv.IsZero() {
			continue
		}
		toSend = append(toSend, s.Sub(at))
		toProv = append(toProv, pv.Sub(s))
	}
	slices.Sort(toSend)
	slices.Sort(toProv)
	q := func(l []time.Duration, f float64) time.Duration { return l[int(f*float64(len(l)-1))] }
	b.Logf("n=%d posted->send p50 %v p99 %v; send->provider p50 %v p99 %v", len(toSend), q(toSend, .5), q(toSend, .99), q(toProv, .5), q(toProv, .99))
}
