package email_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/email"
	"github.com/parcours/parcours/internal/message/provider"
)

const password provider.Secret = "smtp-pass-31337"

var t0 = time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)

func newProvider(t testing.TB, ts *testServer, mutate func(*email.Config)) *email.Provider {
	cfg := email.Config{Name: "smtp-main", Host: "127.0.0.1", Port: ts.port(), Username: "parcours", Password: password,
		From: "Parcours <news@shop.example>", RootCAs: ts.pool, PoolSize: 4, Timeout: 5 * time.Second, Clock: clock.NewFake(t0)}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := email.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func newsletter(key, to string) *provider.Message {
	return &provider.Message{Key: key, Channel: provider.Email, To: to, Subject: "Nouveautés de novembre",
		Text: "Bonjour Camille,\nDécouvrez nos nouveautés.", HTML: "<p>Bonjour Camille,</p><p>Découvrez nos <b>nouveautés</b>.</p>",
		Headers: map[string]string{"List-Unsubscribe": "<https://shop.example/u/abc>, <mailto:unsub@shop.example?subject=abc>",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}
}

func TestSendMultipartOverSTARTTLSWithAuth(t *testing.T) {
	ts := startServer(t, true)
	p := newProvider(t, ts, nil)
	res, err := p.Send(context.Background(), newsletter("j1:v1:s1:p1:e1", "camille@client.example"))
	if err != nil {
		t.Fatal(err)
	}
	wantID := email.MessageID("j1:v1:s1:p1:e1", "shop.example")
	if res.ProviderID != wantID {
		t.Fatalf("ProviderID %q, want %q", res.ProviderID, wantID)
	}
	got := ts.messages()
	if len(got) != 1 || !got[0].tls || got[0].user != "parcours" || got[0].from != "news@shop.example" || got[0].to[0] != "camille@client.example" {
		t.Fatalf("received %+v", got)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got[0].data))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	for k, want := range map[string]string{
		"Message-Id":            "<" + wantID + ">",
		"List-Unsubscribe":      "<https://shop.example/u/abc>, <mailto:unsub@shop.example?subject=abc>",
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		"To":                    "<camille@client.example>",
	} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
	if subj, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); subj != "Nouveautés de novembre" {
		t.Errorf("Subject %q", subj)
	}
	if d, _ := h.Date(); !d.Equal(t0) {
		t.Errorf("Date %v, want the injected clock's %v", d, t0)
	}
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q", h.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	var bodies []string
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part) // multipart decodes quoted-printable
		types = append(types, strings.Split(part.Header.Get("Content-Type"), ";")[0])
		bodies = append(bodies, string(b))
	}
	if strings.Join(types, ",") != "text/plain,text/html" || !strings.Contains(bodies[0], "Découvrez nos nouveautés.") || !strings.Contains(bodies[1], "<b>nouveautés</b>") {
		t.Errorf("parts %v %q", types, bodies)
	}

	// A retry of the same send key carries the same Message-ID.
	if res2, err := p.Send(context.Background(), newsletter("j1:v1:s1:p1:e1", "camille@client.example")); err != nil || res2.ProviderID != wantID {
		t.Fatalf("retry: %+v %v", res2, err)
	}
	m2, _ := mail.ReadMessage(bytes.NewReader(ts.messages()[1].data))
	if m2.Header.Get("Message-Id") != "<"+wantID+">" {
		t.Errorf("retry Message-ID %q", m2.Header.Get("Message-Id"))
	}
}

func TestPoolSharesConnections(t *testing.T) {
	ts := startServer(t, true)
	p := newProvider(t, ts, nil) // PoolSize 4
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := range 16 {
		wg.Go(func() {
			for i := range 10 {
				if _, err := p.Send(context.Background(), newsletter(fmt.Sprintf("k-%d-%d", w, i), "a@client.example")); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(ts.messages()); n != 160 {
		t.Fatalf("%d messages received, want 160", n)
	}
	if s := ts.sessions.Load(); s > 4 {
		t.Fatalf("%d SMTP sessions for 160 messages, want at most the pool size 4", s)
	}
}

func TestClassification(t *testing.T) {
	ts := startServer(t, true)
	ts.rcptErr = func(to string) error {
		switch strings.Split(to, "@")[0] {
		case "unknown":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
		case "moved":
			return &smtp.SMTPError{Code: 551, EnhancedCode: smtp.EnhancedCode{5, 1, 6}, Message: "User not local"}
		case "syntax":
			return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad address syntax"}
		case "greylist":
			return &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "Greylisted, try later"}
		case "policy":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Rejected by policy"}
		}
		return nil
	}
	p := newProvider(t, ts, nil)
	for _, tc := range []struct {
		local               string
		temporary, suppress bool
	}{{"unknown", false, true}, {"moved", false, true}, {"syntax", false, true}, {"greylist", true, false}, {"policy", false, false}} {
		_, err := p.Send(context.Background(), newsletter("k-"+tc.local, tc.local+"@client.example"))
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Temporary != tc.temporary || pe.Suppress != tc.suppress {
			t.Errorf("%s: %v (%+v)", tc.local, err, pe)
		}
		if strings.Contains(err.Error(), password.Reveal()) {
			t.Errorf("error leaks the password")
		}
	}
	// Refusals are SMTP replies: the pooled session is still good.
	if _, err := p.Send(context.Background(), newsletter("k-ok", "ok@client.example")); err != nil {
		t.Fatal(err)
	}
	if s := ts.sessions.Load(); s != 1 {
		t.Errorf("%d sessions, want 1 reused across refusals", s)
	}
}

func TestAuthAndTLSFailuresArePermanent(t *testing.T) {
	ts := startServer(t, true)
	p := newProvider(t, ts, func(c *email.Config) { c.Password = "wrong" })
	_, err := p.Send(context.Background(), newsletter("k", "a@client.example"))
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Temporary || pe.Code != "auth" {
		t.Fatalf("wrong password: %v", err)
	}
	plain := startServer(t, false)
	p = newProvider(t, plain, nil)
	if _, err = p.Send(context.Background(), newsletter("k", "a@client.example")); !errors.As(err, &pe) || pe.Temporary || pe.Code != "starttls" {
		t.Fatalf("mandatory STARTTLS against a plain server: %v", err)
	}
	// Opportunistic without auth goes through in plain text.
	p = newProvider(t, plain, func(c *email.Config) { c.TLS, c.Username, c.Password = email.TLSOpportunistic, "", "" })
	if _, err := p.Send(context.Background(), newsletter("k", "a@client.example")); err != nil || plain.messages()[0].tls {
		t.Fatalf("opportunistic: %v", err)
	}
}

func TestServerClosedIdleConnectionIsRedialled(t *testing.T) {
	ts := startServer(t, true)
	var once sync.Once
	ts.dataHook = func(c *smtp.Conn) error {
		// Drop the first session just after it accepted its message,
		// as a server's idle timeout would.
		once.Do(func() { go func() { time.Sleep(20 * time.Millisecond); c.Close() }() })
		return nil
	}
	p := newProvider(t, ts, nil)
	if _, err := p.Send(context.Background(), newsletter("k1", "a@client.example")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if _, err := p.Send(context.Background(), newsletter("k2", "a@client.example")); err != nil {
		t.Fatalf("send on a connection the server closed: %v", err)
	}
	if n := len(ts.messages()); n != 2 || ts.sessions.Load() != 2 {
		t.Fatalf("%d messages over %d sessions, want 2 over 2", n, ts.sessions.Load())
	}
}

func TestContextCancellation(t *testing.T) {
	ts := startServer(t, true)
	ts.dataHook = func(*smtp.Conn) error { time.Sleep(2 * time.Second); return nil }
	p := newProvider(t, ts, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.Send(ctx, newsletter("k", "a@client.example"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("err %v after %v, want the deadline promptly", err, time.Since(start))
	}
}

func TestDKIMSigning(t *testing.T) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := provider.Secret(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	ts := startServer(t, true)
	p := newProvider(t, ts, func(c *email.Config) {
		c.DKIM = &email.DKIMConfig{Domain: "shop.example", Selector: "parcours2026", PrivateKey: pemKey}
	})
	if _, err := p.Send(context.Background(), newsletter("k", "a@client.example")); err != nil {
		t.Fatal(err)
	}
	msg, _ := mail.ReadMessage(bytes.NewReader(ts.messages()[0].data))
	sig := strings.Join(strings.Fields(msg.Header.Get("Dkim-Signature")), "")
	for _, tag := range []string{"d=shop.example", "s=parcours2026", "a=rsa-sha256", "bh=", "b="} {
		if !strings.Contains(sig, tag) {
			t.Errorf("DKIM-Signature %q lacks %s", sig, tag)
		}
	}
	if _, err := email.New(email.Config{Name: "x", Host: "h", From: "a@b.c", DKIM: &email.DKIMConfig{Domain: "b.c", Selector: "s", PrivateKey: "not a key"}}); err == nil {
		t.Fatal("a bad DKIM key was accepted")
	}
}
