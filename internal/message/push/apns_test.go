package push_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/push"
)

const deviceToken = "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad"

type fakeAPNs struct {
	mu     sync.Mutex
	tokens []string
	reason string
	status int
	clk    *clock.Fake
}

func startAPNs(t *testing.T, pub *ecdsa.PublicKey, f *fakeAPNs) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Proto != "HTTP/2.0" {
			t.Errorf("protocol %s, want HTTP/2.0", r.Proto)
		}
		if r.Method != http.MethodPost || r.URL.Path != "/3/device/"+deviceToken {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		jwt, ok := strings.CutPrefix(r.Header.Get("authorization"), "bearer ")
		if !ok {
			t.Errorf("authorization %q", r.Header.Get("authorization"))
		}
		h, c := verifyJWT(t, jwt, pub)
		if h["alg"] != "ES256" || h["kid"] != "ABC123DEFG" || c["iss"] != "DEF123GHIJ" {
			t.Errorf("jwt %v %v", h, c)
		}
		for k, want := range map[string]string{"apns-topic": "com.parcours.shop", "apns-push-type": "alert", "apns-priority": "10",
			"apns-id": push.APNsID("journey:1:step:2"), "apns-expiration": strconv.FormatInt(f.clk.Now().Add(time.Hour).Unix(), 10)} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || !strings.Contains(string(b), `"aps":{"alert":{"body":"Votre panier vous attend","title":"Parcours"}}`) || body["cart"] != "42" {
			t.Errorf("body %s", b)
		}
		f.mu.Lock()
		f.tokens = append(f.tokens, jwt)
		status, reason := f.status, f.reason
		f.mu.Unlock()
		w.Header().Set("apns-id", r.Header.Get("apns-id"))
		if status != 0 {
			w.WriteHeader(status)
			io.WriteString(w, `{"reason":"`+reason+`"}`)
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func newAPNs(t *testing.T, f *fakeAPNs) (*push.APNs, *clock.Fake) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(t0)
	f.clk = clk
	srv := startAPNs(t, &key.PublicKey, f)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	p, err := push.NewAPNs(push.APNsConfig{Name: "apns", TeamID: "DEF123GHIJ", KeyID: "ABC123DEFG", PrivateKey: provider.Secret(pkcs8PEM(t, key)),
		Topic: "com.parcours.shop", BaseURL: srv.URL, Expiration: time.Hour, RootCAs: pool, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, clk
}

var apnsMsg = &provider.Message{Key: "journey:1:step:2", To: deviceToken, Title: "Parcours", Body: "Votre panier vous attend", Data: map[string]string{"cart": "42"}}

func TestAPNsSendOverHTTP2(t *testing.T) {
	f := &fakeAPNs{}
	p, clk := newAPNs(t, f)
	res, err := p.Send(context.Background(), apnsMsg)
	if err != nil || res.ProviderID != push.APNsID(apnsMsg.Key) {
		t.Fatalf("%+v %v", res, err)
	}
	// The provider token is reused until it is 40 minutes old, then
	// re-signed (Apple: no more than every 20, no older than 60 minutes).
	clk.Advance(39 * time.Minute)
	p.Send(context.Background(), apnsMsg)
	clk.Advance(2 * time.Minute)
	p.Send(context.Background(), apnsMsg)
	if f.tokens[0] != f.tokens[1] || f.tokens[1] == f.tokens[2] {
		t.Error("token not reused for 39 minutes then renewed at 41")
	}
}

func TestAPNsTokenRefreshWindow(t *testing.T) {
	f := &fakeAPNs{}
	p, clk := newAPNs(t, f)
	p.Send(context.Background(), apnsMsg)
	f.status, f.reason = 403, "ExpiredProviderToken"
	clk.Advance(10 * time.Minute)
	// Apple refuses tokens renewed more often than every 20 minutes: an
	// ExpiredProviderToken at 10 minutes must not re-sign.
	_, err := p.Send(context.Background(), &provider.Message{Key: apnsMsg.Key, To: deviceToken, Title: apnsMsg.Title, Body: apnsMsg.Body, Data: apnsMsg.Data})
	if !provider.IsTemporary(err) {
		t.Fatalf("ExpiredProviderToken: %v, want temporary", err)
	}
	if f.tokens[0] != f.tokens[1] {
		t.Fatal("token re-signed at 10 minutes")
	}
	clk.Advance(11 * time.Minute)
	p.Send(context.Background(), apnsMsg) // 21 min: rejected again, now re-signed
	f.status = 0
	p.Send(context.Background(), apnsMsg)
	if f.tokens[2] == f.tokens[3] || f.tokens[0] != f.tokens[2] {
		t.Fatalf("token not re-signed after ExpiredProviderToken at 21 minutes")
	}
}

func TestAPNsErrors(t *testing.T) {
	for _, tc := range []struct {
		status              int
		reason              string
		temporary, suppress bool
	}{{410, "Unregistered", false, true}, {400, "BadDeviceToken", false, true}, {429, "TooManyRequests", true, false}, {503, "ServiceUnavailable", true, false}, {400, "PayloadTooLarge", false, false}} {
		p, _ := newAPNs(t, &fakeAPNs{status: tc.status, reason: tc.reason})
		_, err := p.Send(context.Background(), apnsMsg)
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Code != tc.reason || pe.Temporary != tc.temporary || pe.Suppress != tc.suppress {
			t.Errorf("%s: %+v", tc.reason, pe)
		}
	}
}
