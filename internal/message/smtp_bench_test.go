package message_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/store"
)

// sinkSession accepts every message and counts it.
type sinkSession struct{ n *atomic.Int64 }

func (s sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s sinkSession) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	s.n.Add(1)
	return err
}
func (s sinkSession) Reset()        {}
func (s sinkSession) Logout() error { return nil }

// BenchmarkPipelineToSMTP is the whole email path: marketing emails in the
// outbox (consent and suppression checked), claimed by the workers, sent
// through the SMTP provider's connection pool to a real SMTP server in the
// process, and recorded as sent. It reports emails/s.
func BenchmarkPipelineToSMTP(b *testing.B) {
	var received atomic.Int64
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return sinkSession{&received}, nil }))
	srv.Domain = "localhost"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	p, _ := strconv.Atoi(port)
	smtpProvider, err := email.New(email.Config{Name: "smtp-local", Host: "127.0.0.1", Port: p, TLS: email.TLSNone,
		From: "boutique@shop.example", PoolSize: 16, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	defer smtpProvider.Close()

	st := benchStore(b)
	now := clock.System{}.Now()
	var batch []*store.OutboxMessage
	for i := range b.N {
		key := fmt.Sprint("api:", i)
		batch = append(batch, &store.OutboxMessage{SendKey: key, ProfileID: 1, UserID: "u1", Channel: "email", Topic: "offers",
			Address: "camille@client.example", Status: store.MessageQueued, DueAt: now, CreatedAt: now,
			Payload: []byte(fmt.Sprintf(`{"Key":%q,"Channel":"email","To":"camille@client.example","Subject":"-20%% ce week-end","HTML":"<p>Bonjour Camille</p>","Text":"Bonjour Camille","Headers":{"List-Unsubscribe":"<https://crm.shop.example/u/x>"}}`, key))})
	}
	if _, err := st.EnqueueMessages(context.Background(), batch); err != nil {
		b.Fatal(err)
	}
	pl := message.New(st, nil, message.ProviderSet{provider.Email: {Provider: smtpProvider}},
		message.Options{Workers: 32, Poll: 10 * time.Millisecond, Logger: quiet})
	if _, err := pl.RecordConsent(context.Background(), message.ConsentChange{ProfileID: 1, Channel: provider.Email, Granted: true, Source: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	drain(b, st, pl, b.N)
	b.StopTimer()
	if got := received.Load(); got != int64(b.N) {
		b.Fatalf("the SMTP server received %d of %d", got, b.N)
	}
}
