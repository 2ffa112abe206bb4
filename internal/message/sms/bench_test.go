package sms_test

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
	"github.com/parcours/parcours/internal/message/sms"
)

// BenchmarkTwilioSend measures Twilio sends per second from 64 concurrent
// senders (SetParallelism(32) × GOMAXPROCS 2) to a local server that
// checks auth, parses the form and answers like the Messages API.
func BenchmarkTwilioSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != accountSID || p != authToken.Reveal() {
			w.WriteHeader(401)
			return
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("To") == "" {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		io.WriteString(w, `{"sid":"SM0123456789abcdef0123456789abcdef","status":"queued"}`)
	}))
	defer srv.Close()
	p, err := sms.NewTwilio(sms.TwilioConfig{Name: "twilio", AccountSID: accountSID, AuthToken: authToken, From: "+33700000001",
		StatusCallback: "https://parcours.example/cb", BaseURL: srv.URL, MaxConns: 64})
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
			m := &provider.Message{Key: fmt.Sprint(seq.Add(1)), To: "+33612345678", Body: "Votre commande A-17 est prête au retrait."}
			if _, err := p.Send(context.Background(), m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
