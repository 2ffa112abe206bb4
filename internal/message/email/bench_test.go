package email_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

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

// BenchmarkDuplicateWindow measures the one window in which an SMTP
// message can be delivered twice: from the moment the server has taken
// the message (its DATA handler returned, the 250 is being written) to the
// moment Send returns and the caller can record it as sent. A crash inside
// the window leaves an accepted message unrecorded, so it is sent again
// after restart (with the same Message-ID). Reported as p50/p99 in µs on
// the loopback; over a real network add one round-trip time.
func BenchmarkDuplicateWindow(b *testing.B) {
	ts := startServer(b, true)
	ts.discard = true
	var accepted atomic.Int64
	ts.dataHook = func(*smtp.Conn) error { accepted.Store(time.Now().UnixNano()); return nil }
	p := newProvider(b, ts, nil)
	windows := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if _, err := p.Send(context.Background(), newsletter(fmt.Sprint(i), "a@client.example")); err != nil {
			b.Fatal(err)
		}
		windows = append(windows, time.Duration(time.Now().UnixNano()-accepted.Load()))
	}
	slices.Sort(windows)
	b.ReportMetric(float64(windows[len(windows)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(windows[len(windows)*99/100].Microseconds()), "p99-µs")
}
