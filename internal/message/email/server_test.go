package email_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message the test server accepted.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

// testServer is a real in-process SMTP server (go-smtp) that requires
// STARTTLS before AUTH PLAIN and records what it receives.
type testServer struct {
	t        *testing.T
	srv      *smtp.Server
	addr     string
	pool     *x509.CertPool
	sessions atomic.Int32 // distinct connections
	conns    sync.Map
	mu       sync.Mutex
	got      []received
	// rcptErr answers RCPT TO per address; dataHook runs in DATA.
	rcptErr func(to string) error
	// discard keeps only a count (benchmarks).
	discard  bool
	count    atomic.Int64
	dataHook func(c *smtp.Conn) error
}

func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func startServer(t testing.TB, withTLS bool) *testServer {
	ts := &testServer{}
	if tt, ok := t.(*testing.T); ok {
		ts.t = tt
	}
	ts.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		// go-smtp starts a new session after STARTTLS: count connections.
		if _, seen := ts.conns.LoadOrStore(c, true); !seen {
			ts.sessions.Add(1)
		}
		return &session{ts: ts, c: c}, nil
	}))
	ts.srv.Domain = "localhost"
	ts.srv.EnableDSN = true
	if withTLS {
		cert, pool := selfSigned(t)
		ts.pool = pool
		ts.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = l.Addr().String()
	go ts.srv.Serve(l)
	t.Cleanup(func() { ts.srv.Close() })
	return ts
}

func (ts *testServer) port() int {
	_, p, _ := net.SplitHostPort(ts.addr)
	n := 0
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.got...)
}

type session struct {
	ts   *testServer
	c    *smtp.Conn
	user string
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "parcours" || password != "smtp-pass-31337" {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "authentication failed"}
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	_, isTLS := s.c.TLSConnectionState()
	if s.ts.srv.TLSConfig != nil && (!isTLS || s.user == "") {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "STARTTLS and AUTH first"}
	}
	s.cur = received{from: from, tls: isTLS, user: s.user}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ts.rcptErr != nil {
		if err := s.ts.rcptErr(to); err != nil {
			return err
		}
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.ts.dataHook != nil {
		if err := s.ts.dataHook(s.c); err != nil {
			return err
		}
	}
	s.ts.count.Add(1)
	if s.ts.discard {
		return nil
	}
	s.cur.data = b
	s.ts.mu.Lock()
	s.ts.got = append(s.ts.got, s.cur)
	s.ts.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }
