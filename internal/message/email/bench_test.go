package email_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/email"
)

// BenchmarkSMTPSend measures emails per second from 32 concurrent senders
// sharing a pool of 32 connections to a local go-smtp server, with
// STARTTLS and AUTH PLAIN on each connection (done once per connection,
// then reused), a 1.5 KB multipart text+HTML message with
// List-Unsubscribe headers.
func BenchmarkSMTPSend(b *testing.B) {
	for _, senders := range []int{16, 32} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			ts := startServer(b, true)
			ts.discard = true
			p := newProvider(b, ts, func(c *email.Config) { c.PoolSize = senders })
			var seq atomic.Int64
			work := make(chan struct{}, senders)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range senders {
				wg.Go(func() {
					for range work {
						m := newsletter(fmt.Sprint(seq.Add(1)), "camille@client.example")
						if _, err := p.Send(context.Background(), m); err != nil {
							b.Error(err)
						}
					}
				})
			}
			for range b.N {
				work <- struct{}{}
			}
			close(work)
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "emails/s")
			if got := ts.count.Load(); got != int64(b.N) {
				b.Fatalf("server received %d of %d", got, b.N)
			}
		})
	}
}
