package email_test

import (
	"context"
	"crypto/tls"
	"net"
	"strconv"
	"testing"

	"github.com/parcours/parcours/internal/message/email"
)

// TestImplicitTLS sends over SMTPS (TLS from the first byte, port 465
// style) with AUTH PLAIN.
func TestImplicitTLS(t *testing.T) {
	ts := startServer(t, true)
	// The same server also listens with TLS from the first byte.
	l, err := tls.Listen("tcp", "127.0.0.1:0", ts.srv.TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.Serve(l)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	p := newProvider(t, ts, func(c *email.Config) { c.TLS = email.TLSImplicit; c.Port, _ = strconv.Atoi(port) })
	if _, err := p.Send(context.Background(), newsletter("k", "a@client.example")); err != nil {
		t.Fatal(err)
	}
	if got := ts.messages(); len(got) != 1 || !got[0].tls || got[0].user != "parcours" {
		t.Fatalf("received %+v", got)
	}
}
