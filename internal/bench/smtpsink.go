package bench

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// SMTPSink is a real SMTP server (go-smtp) on loopback that accepts every
// email and counts them by Message-ID: what a send benchmark delivers to.
type SMTPSink struct {
	srv  *smtp.Server
	Port int

	mu          sync.Mutex
	byID        map[string]int
	first, last time.Time
	n           int
}

// StartSMTPSink listens on a free loopback port.
func StartSMTPSink() (*SMTPSink, error) {
	s := &SMTPSink{byID: map[string]int{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	go s.srv.Serve(l)
	return s, nil
}

// Close stops the server.
func (s *SMTPSink) Close() error { return s.srv.Close() }

// SinkCounts is what a sink received.
type SinkCounts struct {
	Emails      int // accepted, duplicates included
	Distinct    int // distinct Message-IDs
	Duplicates  int // emails beyond the first of their Message-ID
	First, Last time.Time
}

// Counts returns what the sink received so far.
func (s *SMTPSink) Counts() SinkCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SinkCounts{Emails: s.n, Distinct: len(s.byID), Duplicates: s.n - len(s.byID), First: s.first, Last: s.last}
}

// Reset forgets what the sink received.
func (s *SMTPSink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.byID, s.n, s.first, s.last = map[string]int{}, 0, time.Time{}, time.Time{}
}

type sinkSession struct{ s *SMTPSink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }

func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return err
	}
	id := strings.Trim(msg.Header.Get("Message-ID"), "<>")
	now := time.Now()
	s := ss.s
	s.mu.Lock()
	s.byID[id]++
	s.n++
	if s.first.IsZero() {
		s.first = now
	}
	s.last = now
	s.mu.Unlock()
	return nil
}
