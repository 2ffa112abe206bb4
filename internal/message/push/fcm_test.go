package push_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/push"
)

var t0 = time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)

// fakeGoogle plays both Google's token endpoint and the FCM API.
type fakeGoogle struct {
	t         *testing.T
	pub       *rsa.PublicKey
	srv       *httptest.Server
	exchanges atomic.Int32
	status    int
	answer    string
	lastBody  atomic.Value
}

func newFakeGoogle(t *testing.T, pub *rsa.PublicKey) *fakeGoogle {
	g := &fakeGoogle{t: t, pub: pub, status: 200, answer: `{"name":"projects/parcours-demo/messages/0:1500415314455276%31bd1c9631bd1c96"}`}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", g.token)
	mux.HandleFunc("POST /v1/projects/parcours-demo/messages:send", g.send)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGoogle) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		g.t.Errorf("grant_type %q", r.PostForm.Get("grant_type"))
	}
	h, c := verifyJWT(g.t, r.PostForm.Get("assertion"), g.pub)
	if h["alg"] != "RS256" || h["kid"] != "key-1" {
		g.t.Errorf("header %v", h)
	}
	if c["iss"] != "fcm@parcours-demo.iam.gserviceaccount.com" || c["aud"] != g.srv.URL+"/token" ||
		c["scope"] != "https://www.googleapis.com/auth/firebase.messaging" || c["exp"].(float64)-c["iat"].(float64) != 3600 {
		g.t.Errorf("claims %v", c)
	}
	n := g.exchanges.Add(1)
	fmt.Fprintf(w, `{"access_token":"ya29.token-%d","expires_in":3599,"token_type":"Bearer"}`, n)
}

func (g *fakeGoogle) send(w http.ResponseWriter, r *http.Request) {
	if got, want := r.Header.Get("Authorization"), fmt.Sprintf("Bearer ya29.token-%d", g.exchanges.Load()); got != want {
		g.t.Errorf("Authorization %q, want %q", got, want)
	}
	b, _ := io.ReadAll(r.Body)
	g.lastBody.Store(string(b))
	w.Header().Set("Content-Type", "application/json")
	if g.status == 429 {
		w.Header().Set("Retry-After", "30")
	}
	w.WriteHeader(g.status)
	io.WriteString(w, g.answer)
}

func newFCM(t *testing.T) (*push.FCM, *fakeGoogle, *clock.Fake) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	g := newFakeGoogle(t, &key.PublicKey)
	keyFile, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "parcours-demo", "private_key_id": "key-1",
		"private_key": pkcs8PEM(t, key), "client_email": "fcm@parcours-demo.iam.gserviceaccount.com", "token_uri": g.srv.URL + "/token"})
	sa, err := push.ParseServiceAccount(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v", sa, sa); strings.Contains(s, "PRIVATE KEY") {
		t.Fatalf("service account prints its key: %s", s)
	}
	clk := clock.NewFake(t0)
	p, err := push.NewFCM(push.FCMConfig{Name: "fcm", ServiceAccount: sa, BaseURL: g.srv.URL, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, g, clk
}

func TestFCMSendAndTokenCache(t *testing.T) {
	p, g, clk := newFCM(t)
	m := &provider.Message{Key: "k", To: "fcm-reg-token-1", Title: "Soldes", Body: "-20% ce week-end", Data: map[string]string{"deeplink": "app://sale"}}
	for range 3 {
		res, err := p.Send(context.Background(), m)
		if err != nil || res.ProviderID != "projects/parcours-demo/messages/0:1500415314455276%31bd1c9631bd1c96" {
			t.Fatalf("%+v %v", res, err)
		}
	}
	want := `{"message":{"token":"fcm-reg-token-1","notification":{"title":"Soldes","body":"-20% ce week-end"},"data":{"deeplink":"app://sale"}}}`
	if got := g.lastBody.Load(); got != want {
		t.Errorf("body %s\nwant %s", got, want)
	}
	if n := g.exchanges.Load(); n != 1 {
		t.Fatalf("%d token exchanges for 3 sends, want 1 (cached)", n)
	}
	clk.Advance(59 * time.Minute) // within a minute of expiry: renewed
	if _, err := p.Send(context.Background(), m); err != nil || g.exchanges.Load() != 2 {
		t.Fatalf("after expiry: %v, %d exchanges", err, g.exchanges.Load())
	}
}

func TestFCMErrors(t *testing.T) {
	for _, tc := range []struct {
		status              int
		answer              string
		code                string
		temporary, suppress bool
		retry               time.Duration
	}{
		{404, `{"error":{"code":404,"message":"Requested entity was not found.","status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`, "UNREGISTERED", false, true, 0},
		{400, `{"error":{"code":400,"message":"The registration token is not a valid FCM registration token","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"INVALID_ARGUMENT"}]}}`, "INVALID_ARGUMENT", false, true, 0},
		{400, `{"error":{"code":400,"message":"Invalid value at 'message.data[0].value'","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.data[0].value"}]}]}}`, "INVALID_ARGUMENT", false, false, 0},
		{429, `{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"QUOTA_EXCEEDED"}]}}`, "QUOTA_EXCEEDED", true, false, 30 * time.Second},
		{503, `{"error":{"code":503,"message":"The service is currently unavailable.","status":"UNAVAILABLE","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNAVAILABLE"}]}}`, "UNAVAILABLE", true, false, 0},
	} {
		p, g, _ := newFCM(t)
		g.status, g.answer = tc.status, tc.answer
		_, err := p.Send(context.Background(), &provider.Message{Key: "k", To: "tok", Body: "x"})
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Code != tc.code || pe.Temporary != tc.temporary || pe.Suppress != tc.suppress || pe.RetryAfter != tc.retry {
			t.Errorf("%d %s: %+v", tc.status, tc.code, pe)
		}
	}
}
