package webhook_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/webhook"
)

// BenchmarkWebhookSend measures signed webhook sends per second from 64
// concurrent senders to a local receiver that verifies every signature.
func BenchmarkWebhookSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify(secret, r.Header.Get("Parcours-Signature"), body, time.Now(), time.Minute); err != nil {
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(204)
	}))
	defer srv.Close()
	p, err := webhook.New(webhook.Config{Name: "hook", URL: srv.URL + "/h", Secret: secret, MaxConns: 64})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	var seq atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m := &provider.Message{Key: fmt.Sprint(seq.Add(1)), Channel: provider.Webhook, To: "cust-1", Body: "Order A-17 shipped",
				Data: map[string]string{"order": "A-17", "carrier": "colissimo"}}
			if _, err := p.Send(context.Background(), m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
