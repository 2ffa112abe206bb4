package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/webhook"
)

const secret provider.Secret = "whsec-test-9f8e7d"

var t0 = time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)

// receiver checks the wire format as a documented receiver would.
func receiver(t *testing.T, status int, answer string, check func(r *http.Request, body []byte)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/hooks/parcours" {
			t.Errorf("request %s %s, want POST /hooks/parcours", r.Method, r.URL.Path)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		if err := webhook.Verify(secret, r.Header.Get("Parcours-Signature"), body, t0.Add(30*time.Second), time.Minute); err != nil {
			t.Errorf("Verify: %v", err)
		}
		if check != nil {
			check(r, body)
		}
		if d := w.Header(); status == 429 {
			d.Set("Retry-After", "7")
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newProvider(t *testing.T, url string) *webhook.Provider {
	t.Helper()
	p, err := webhook.New(webhook.Config{Name: "crm-hook", URL: url + "/hooks/parcours", Secret: secret, Clock: clock.NewFake(t0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestSendSignsAndKeys(t *testing.T) {
	srv := receiver(t, 200, `{"id":"rcv-42"}`, func(r *http.Request, body []byte) {
		if got := r.Header.Get("Idempotency-Key"); got != "j1:v2:s3:p4:e5" {
			t.Errorf("Idempotency-Key %q", got)
		}
		if sig := r.Header.Get("Parcours-Signature"); !strings.HasPrefix(sig, "t=1795442400,v1=") {
			t.Errorf("signature header %q", sig)
		}
		var env map[string]any
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatal(err)
		}
		if env["key"] != "j1:v2:s3:p4:e5" || env["body"] != "Bonjour" || env["to"] != "cust-1" {
			t.Errorf("body %s", body)
		}
	})
	res, err := newProvider(t, srv.URL).Send(context.Background(), &provider.Message{Key: "j1:v2:s3:p4:e5", Channel: provider.Webhook, To: "cust-1", Body: "Bonjour"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProviderID != "rcv-42" {
		t.Errorf("ProviderID %q, want the receiver's id", res.ProviderID)
	}
}

func TestSendPayloadVerbatimAndKeyAsID(t *testing.T) {
	payload := `{"order":"A-17","total":42.5}`
	srv := receiver(t, 204, "", func(r *http.Request, body []byte) {
		if string(body) != payload {
			t.Errorf("body %s, want the payload verbatim", body)
		}
	})
	res, err := newProvider(t, srv.URL).Send(context.Background(), &provider.Message{Key: "k1", Payload: json.RawMessage(payload)})
	if err != nil || res.ProviderID != "k1" {
		t.Fatalf("res %+v err %v, want the key as id", res, err)
	}
}

func TestSendClassifiesStatus(t *testing.T) {
	for _, tc := range []struct {
		status     int
		temporary  bool
		retryAfter time.Duration
	}{
		{429, true, 7 * time.Second}, {500, true, 0}, {503, true, 0}, {400, false, 0}, {404, false, 0}, {410, false, 0},
	} {
		srv := receiver(t, tc.status, `{"error":"nope"}`, nil)
		_, err := newProvider(t, srv.URL).Send(context.Background(), &provider.Message{Key: "k"})
		var pe *provider.Error
		if !errors.As(err, &pe) {
			t.Fatalf("%d: err %v, want *provider.Error", tc.status, err)
		}
		if pe.Temporary != tc.temporary || pe.RetryAfter != tc.retryAfter || pe.Suppress {
			t.Errorf("%d: %+v", tc.status, pe)
		}
		if strings.Contains(err.Error(), secret.Reveal()) {
			t.Errorf("error leaks the secret: %v", err)
		}
	}
}

func TestSendHonoursContextAndNetworkFailure(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := newProvider(t, srv.URL).Send(ctx, &provider.Message{Key: "k"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's deadline", err)
	}
	_, err = newProvider(t, "http://127.0.0.1:1").Send(context.Background(), &provider.Message{Key: "k"})
	if !provider.IsTemporary(err) {
		t.Fatalf("connection refused: %v, want temporary", err)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"a":1}`)
	good := webhook.Sign(secret, t0, body)
	cases := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", good, body, t0, nil},
		{"rotation: second v1 matches", "t=" + strings.TrimPrefix(strings.Split(good, ",")[0], "t=") + ",v1=00ff," + strings.Split(good, ",")[1], body, t0, nil},
		{"tampered body", good, []byte(`{"a":2}`), t0, webhook.ErrBadSignature},
		{"other secret", webhook.Sign("other", t0, body), body, t0, webhook.ErrBadSignature},
		{"stale", good, body, t0.Add(6 * time.Minute), webhook.ErrStaleTimestamp},
		{"future", good, body, t0.Add(-6 * time.Minute), webhook.ErrStaleTimestamp},
		{"missing", "", body, t0, webhook.ErrNoSignature},
		{"garbage", "v1", body, t0, webhook.ErrMalformed},
		{"no v1", "t=1", body, t0, webhook.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := webhook.Verify(secret, c.header, c.body, c.now, 0)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func TestParseReceipt(t *testing.T) {
	body := `{"provider_id":"rcv-42","status":"delivered","at":"2026-11-23T14:00:05Z","address":"cust-1"}`
	req := httptest.NewRequest(http.MethodPost, "/api/v1/receipts/webhook/crm-hook", strings.NewReader(body))
	req.Header.Set("Parcours-Signature", webhook.Sign(secret, t0, []byte(body)))
	rc, err := webhook.ParseReceipt(req, "crm-hook", secret, t0.Add(time.Second), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := provider.Receipt{Provider: "crm-hook", ProviderID: "rcv-42", Status: provider.Delivered, At: t0.Add(5 * time.Second), Address: "cust-1"}
	if rc != want {
		t.Fatalf("receipt %+v, want %+v", rc, want)
	}

	forged := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	forged.Header.Set("Parcours-Signature", webhook.Sign("guess", t0, []byte(body)))
	if _, err := webhook.ParseReceipt(forged, "crm-hook", secret, t0, 0); !errors.Is(err, webhook.ErrBadSignature) {
		t.Fatalf("forged receipt: %v", err)
	}
	for _, bad := range []string{`{"status":"delivered","at":"2026-11-23T14:00:05Z"}`, `{"provider_id":"x","status":"lost","at":"2026-11-23T14:00:05Z"}`, `{"provider_id":"x","status":"sent"}`, `[`} {
		if _, err := webhook.DecodeReceipt("crm-hook", []byte(bad)); err == nil {
			t.Errorf("DecodeReceipt(%s) accepted", bad)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("t=1,v1=ab", []byte("x"))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		_ = webhook.Verify(secret, header, body, t0, time.Minute)
	})
}
