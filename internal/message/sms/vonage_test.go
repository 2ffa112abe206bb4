package sms_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/sms"
)

const vonageSecret provider.Secret = "vn-secret-77aa"

func fakeVonage(t *testing.T, answer string, check func(url.Values)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/sms/json" || r.URL.RawQuery != "" {
			t.Errorf("request %s %s?%s (credentials must not be in the URL)", r.Method, r.URL.Path, r.URL.RawQuery)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q", ct)
		}
		r.ParseForm()
		if r.PostForm.Get("api_key") != "vk1" || r.PostForm.Get("api_secret") != vonageSecret.Reveal() {
			io.WriteString(w, `{"message-count":"1","messages":[{"status":"4","error-text":"Bad Credentials"}]}`)
			return
		}
		if check != nil {
			check(r.PostForm)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newVonage(t *testing.T, base string) *sms.Vonage {
	p, err := sms.NewVonage(sms.VonageConfig{Name: "vonage", APIKey: "vk1", APISecret: vonageSecret, From: "Parcours",
		Callback: "https://parcours.example/cb/vonage", BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestVonageSend(t *testing.T) {
	for _, tc := range []struct{ text, typ string }{{"Votre code: 1234 à utiliser", ""}, {"Merci 🎉 — à bientôt", "unicode"}} {
		srv := fakeVonage(t, `{"message-count":"1","messages":[{"to":"33612345678","message-id":"0A0000000123ABCD1","status":"0","remaining-balance":"3.14","message-price":"0.03","network":"20801"}]}`,
			func(f url.Values) {
				if f.Get("to") != "33612345678" || f.Get("from") != "Parcours" || f.Get("text") != tc.text || f.Get("type") != tc.typ ||
					f.Get("client-ref") != "journey:7:step:2" || f.Get("callback") != "https://parcours.example/cb/vonage" || f.Get("status-report-req") != "1" {
					t.Errorf("form %v", f)
				}
			})
		res, err := newVonage(t, srv.URL).Send(context.Background(), &provider.Message{Key: "journey:7:step:2", To: "+33612345678", Body: tc.text})
		if err != nil || res.ProviderID != "0A0000000123ABCD1" {
			t.Fatalf("%q: %+v %v", tc.text, res, err)
		}
	}
}

func TestVonageErrors(t *testing.T) {
	for _, tc := range []struct {
		status              string
		temporary, suppress bool
	}{{"1", true, false}, {"5", true, false}, {"3", false, false}, {"7", false, true}, {"6", false, true}, {"4", false, false}} {
		srv := fakeVonage(t, `{"message-count":"1","messages":[{"status":"`+tc.status+`","error-text":"documented text"}]}`, nil)
		_, err := newVonage(t, srv.URL).Send(context.Background(), &provider.Message{Key: "k", To: "+33612345678", Body: "x"})
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Temporary != tc.temporary || pe.Suppress != tc.suppress || pe.Code != tc.status {
			t.Errorf("status %s: %v", tc.status, err)
		}
		if strings.Contains(err.Error(), vonageSecret.Reveal()) {
			t.Errorf("error leaks the secret: %v", err)
		}
	}
}

func TestClientRefBounded(t *testing.T) {
	long := strings.Repeat("k", 150)
	if ref := sms.ClientRef(long); len(ref) > 100 || ref != sms.ClientRef(long) {
		t.Fatalf("client-ref %q", ref)
	}
}

func TestIsGSM7(t *testing.T) {
	for s, want := range map[string]bool{"Hello €5 [ok]": true, "àéèùì ÄÖ": true, "ç": false, "Ç": true, "🎉": false, "Ωmega": true, "Łódź": false} {
		if sms.IsGSM7(s) != want {
			t.Errorf("IsGSM7(%q) = %v", s, !want)
		}
	}
}

func TestParseVonageDLR(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	q := "msisdn=33612345678&to=Parcours&network-code=20801&messageId=0A0000000123ABCD1&price=0.03&status=delivered&scts=2611231401&err-code=0&api-key=vk1&client-ref=k1&message-timestamp=2026-11-23+14%3A01%3A02"
	rc, err := sms.ParseVonageDLR(httptest.NewRequest(http.MethodGet, "/cb/vonage?"+q, nil), "vk1", "vonage", now)
	want := provider.Receipt{Provider: "vonage", ProviderID: "0A0000000123ABCD1", Status: provider.Delivered,
		At: time.Date(2026, 11, 23, 14, 1, 2, 0, time.UTC), Address: "+33612345678", Code: "0"}
	if err != nil || rc != want {
		t.Fatalf("GET: %+v %v", rc, err)
	}
	// POST JSON, failed with a permanent err-code: a bounce.
	js := `{"msisdn":"33612345678","messageId":"X1","status":"failed","err-code":"9","api-key":"vk1","message-timestamp":"2026-11-23 14:01:02"}`
	r := httptest.NewRequest(http.MethodPost, "/cb/vonage", strings.NewReader(js))
	r.Header.Set("Content-Type", "application/json")
	if rc, err := sms.ParseVonageDLR(r, "vk1", "vonage", now); err != nil || rc.Status != provider.Bounced {
		t.Fatalf("JSON: %+v %v", rc, err)
	}
	// POST form, buffered: interim.
	r = httptest.NewRequest(http.MethodPost, "/cb/vonage", strings.NewReader("messageId=X2&status=buffered&api-key=vk1"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := sms.ParseVonageDLR(r, "vk1", "vonage", now); !errors.Is(err, sms.ErrInterimStatus) {
		t.Fatalf("buffered: %v", err)
	}
	// Another account's key.
	if _, err := sms.ParseVonageDLR(httptest.NewRequest(http.MethodGet, "/cb?messageId=X&status=delivered&api-key=other", nil), "vk1", "vonage", now); !errors.Is(err, sms.ErrBadSignature) {
		t.Fatalf("foreign key: %v", err)
	}
}

func TestParseVonageInbound(t *testing.T) {
	q := "msisdn=33612345678&to=33700000001&messageId=0A00000012345678&text=ARRET&type=text&keyword=ARRET&api-key=vk1&message-timestamp=2026-11-23+14%3A01%3A02"
	in, err := sms.ParseVonageInbound(httptest.NewRequest(http.MethodGet, "/in/vonage?"+q, nil), "vk1", "vonage")
	if err != nil || in.From != "+33612345678" || in.Body != "ARRET" || !in.IsOptOut() {
		t.Fatalf("%+v %v", in, err)
	}
	if _, err := sms.ParseVonageInbound(httptest.NewRequest(http.MethodGet, "/in/vonage?msisdn=1&messageId=2&api-key=x", nil), "vk1", "vonage"); !errors.Is(err, sms.ErrBadSignature) {
		t.Fatalf("foreign key: %v", err)
	}
}
