package message_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/template"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
)

func benchStore(b *testing.B) *sqlite.Store {
	st, err := sqlite.Open(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	p := profile.New(1)
	p.Identifiers = []identity.Identifier{{Kind: identity.UserID, Value: "u1"}, {Kind: identity.Email, Value: "a@example.com"}}
	if err := st.ApplyUnify(context.Background(), &store.UnifyBatch{Consumer: "b", Profiles: []*profile.Profile{p}}); err != nil {
		b.Fatal(err)
	}
	return st
}

// drain runs the pipeline until every message is final and reports the
// throughput.
func drain(b *testing.B, st *sqlite.Store, p *message.Pipeline, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	start := time.Now()
	for {
		left, err := st.ListMessages(context.Background(), store.MessageQuery{Status: store.MessageQueued, Limit: 1})
		if err != nil {
			b.Fatal(err)
		}
		sending, _ := st.ListMessages(context.Background(), store.MessageQuery{Status: store.MessageSending, Limit: 1})
		if len(left) == 0 && len(sending) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	sent, _ := st.CountSent(context.Background(), store.SentQuery{ProfileIDs: []int64{1}, Since: time.Unix(0, 0)})
	if sent != n {
		b.Fatalf("sent %d of %d", sent, n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// BenchmarkPipeline measures the outbox to provider throughput: claim,
// checks, rate-limiter, send, group-committed outcome, event announcement.
func BenchmarkPipeline(b *testing.B) {
	b.Run("webhook-to-local-http", func(b *testing.B) {
		st := benchStore(b)
		enqueueWebhooks(b, st, b.N, clock.System{}.Now())
		srv := httptest.NewServer(newReceiver())
		defer srv.Close()
		p := message.New(st, nil, message.ProviderSet{provider.Webhook: {Provider: newHTTPProvider(srv.URL)}},
			message.Options{Workers: 32, Poll: 10 * time.Millisecond, Logger: quiet})
		b.ResetTimer()
		drain(b, st, p, b.N)
	})
	b.Run("email-marketing-checks-to-recorder", func(b *testing.B) {
		st := benchStore(b)
		now := clock.System{}.Now()
		var batch []*store.OutboxMessage
		for i := range b.N {
			key := fmt.Sprint("api:", i)
			batch = append(batch, &store.OutboxMessage{SendKey: key, ProfileID: 1, UserID: "u1", Channel: "email", Topic: "offers",
				Address: "a@example.com", Status: store.MessageQueued, DueAt: now, CreatedAt: now,
				Payload: []byte(fmt.Sprintf(`{"Key":%q,"Channel":"email","To":"a@example.com","Subject":"s","HTML":"<p>x</p>","Headers":{"List-Unsubscribe":"<https://crm.shop.example/u/x>"}}`, key))})
		}
		if _, err := st.EnqueueMessages(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		p := message.New(st, nil, message.ProviderSet{provider.Email: {Provider: messagetest.NewRecorder("rec", provider.Email)}},
			message.Options{Workers: 32, Poll: 10 * time.Millisecond, Logger: quiet})
		if _, err := p.RecordConsent(context.Background(), message.ConsentChange{ProfileID: 1, Channel: provider.Email, Granted: true, Source: "bench"}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		drain(b, st, p, b.N)
	})
}

// BenchmarkSendAPI measures Send (render, checks, one outbox insert) from
// 16 concurrent callers, as POST /api/v1/messages does.
func BenchmarkSendAPI(b *testing.B) {
	st := benchStore(b)
	p := message.New(st, nil, nil, message.Options{Logger: quiet, BaseURL: "https://crm.example", Secret: []byte("s")})
	tpl := &template.Template{Email: &template.Email{Subject: "Bonjour {{ profile.first_name }}",
		HTML: `<p>Bonjour {{ profile.first_name }}</p><a href="https://shop.example/">boutique</a>`}}
	var wg sync.WaitGroup
	next := make(chan int)
	b.ResetTimer()
	start := time.Now()
	for range 16 {
		wg.Go(func() {
			for i := range next {
				if _, err := p.Send(context.Background(), message.Request{ProfileID: 1, Channel: provider.Email,
					Topic: "order_updates", Content: tpl, Key: fmt.Sprint("k", i)}); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := range b.N {
		next <- i
	}
	close(next)
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
