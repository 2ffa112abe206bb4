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

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/sms"
)

const (
	accountSID                 = "AC0123456789abcdef0123456789abcdef"
	authToken  provider.Secret = "tw-auth-token-5e1f"
)

var t0 = time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)

// fakeTwilio answers like the Messages API and checks each request.
func fakeTwilio(t *testing.T, status int, answer string, check func(url.Values)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+accountSID+"/Messages.json" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != accountSID || pass != authToken.Reveal() {
			t.Errorf("basic auth %q/%q", user, pass)
			w.WriteHeader(401)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("Content-Type %q", ct)
		}
		if err := r.ParseForm(); err != nil {
			t.Fatal(err)
		}
		if check != nil {
			check(r.PostForm)
		}
		w.Header().Set("Content-Type", "application/json")
		if status == 429 {
			w.Header().Set("Retry-After", "3")
		}
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newTwilio(t *testing.T, base string, mutate func(*sms.TwilioConfig)) *sms.Twilio {
	t.Helper()
	cfg := sms.TwilioConfig{Name: "twilio-fr", AccountSID: accountSID, AuthToken: authToken, From: "+33700000001",
		StatusCallback: "https://parcours.example/cb/twilio", BaseURL: base, Clock: clock.NewFake(t0)}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := sms.NewTwilio(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestTwilioSend(t *testing.T) {
	srv := fakeTwilio(t, 201, `{"sid":"SM1234","status":"queued","to":"+33612345678"}`, func(f url.Values) {
		want := url.Values{"To": {"+33612345678"}, "From": {"+33700000001"}, "Body": {"Votre commande est prête"},
			"StatusCallback": {"https://parcours.example/cb/twilio"}}
		if f.Encode() != want.Encode() {
			t.Errorf("form %v, want %v", f, want)
		}
	})
	res, err := newTwilio(t, srv.URL, nil).Send(context.Background(), &provider.Message{Key: "k1", To: "+33612345678", Body: "Votre commande est prête"})
	if err != nil || res.ProviderID != "SM1234" {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestTwilioMessagingService(t *testing.T) {
	srv := fakeTwilio(t, 201, `{"sid":"SM9"}`, func(f url.Values) {
		if f.Get("MessagingServiceSid") != "MG42" || f.Has("From") {
			t.Errorf("form %v, want MessagingServiceSid and no From", f)
		}
	})
	p := newTwilio(t, srv.URL, func(c *sms.TwilioConfig) { c.From, c.MessagingServiceSID = "", "MG42" })
	if _, err := p.Send(context.Background(), &provider.Message{Key: "k", To: "+33612345678", Body: "x"}); err != nil {
		t.Fatal(err)
	}
}

func TestTwilioErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		answer    string
		temporary bool
		suppress  bool
		code      string
		retry     time.Duration
	}{
		{"invalid number", 400, `{"code":21211,"message":"The 'To' number +3361 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`, false, true, "21211", 0},
		{"not mobile", 400, `{"code":21614,"message":"'To' number is not a valid mobile number","more_info":"https://www.twilio.com/docs/errors/21614","status":400}`, false, true, "21614", 0},
		{"rate limited", 429, `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`, true, false, "20429", 3 * time.Second},
		{"server error", 503, `upstream unavailable`, true, false, "503", 0},
		{"auth", 401, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`, false, false, "20003", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeTwilio(t, tc.status, tc.answer, nil)
			_, err := newTwilio(t, srv.URL, nil).Send(context.Background(), &provider.Message{Key: "k", To: "+3361", Body: "x"})
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err %v", err)
			}
			if pe.Temporary != tc.temporary || pe.Suppress != tc.suppress || pe.Code != tc.code || pe.RetryAfter != tc.retry {
				t.Errorf("got %+v", pe)
			}
			if strings.Contains(err.Error(), authToken.Reveal()) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestTwilioConfigErrors(t *testing.T) {
	for _, c := range []sms.TwilioConfig{
		{AccountSID: accountSID, AuthToken: authToken, From: "x"},
		{Name: "a", AccountSID: "bad", AuthToken: authToken, From: "x"},
		{Name: "a", AccountSID: accountSID, From: "x"},
		{Name: "a", AccountSID: accountSID, AuthToken: authToken},
	} {
		if _, err := sms.NewTwilio(c); err == nil {
			t.Errorf("NewTwilio(%+v) accepted", c)
		}
	}
}

// signedCallback builds a callback request signed the way Twilio signs.
func signedCallback(fullURL string, form url.Values, token provider.Secret) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/cb/twilio", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("X-Twilio-Signature", sms.TwilioSignature(token, fullURL, form))
	return r
}

func TestTwilioSignatureKnownVector(t *testing.T) {
	// The worked example of https://www.twilio.com/docs/usage/security#validating-requests
	params := url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"}}
	if got := sms.TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params); got != "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Fatalf("signature %q, want Twilio's documented 0/KCTR6DLpKmkAf8muzZqo1nDgQ=", got)
	}
}

func TestParseTwilioStatusCallback(t *testing.T) {
	const full = "https://parcours.example/cb/twilio"
	for _, tc := range []struct {
		status, code string
		want         provider.Status
		interim      bool
	}{
		{"sent", "", provider.Sent, false},
		{"delivered", "", provider.Delivered, false},
		{"undelivered", "30003", provider.Failed, false},
		{"undelivered", "30005", provider.Bounced, false},
		{"failed", "30006", provider.Bounced, false},
		{"queued", "", "", true},
	} {
		form := url.Values{"MessageSid": {"SM1234"}, "MessageStatus": {tc.status}, "To": {"+33612345678"}, "AccountSid": {accountSID}}
		if tc.code != "" {
			form.Set("ErrorCode", tc.code)
		}
		rc, err := sms.ParseTwilioStatusCallback(signedCallback(full, form, authToken), authToken, full, "twilio-fr", t0)
		if tc.interim {
			if !errors.Is(err, sms.ErrInterimStatus) {
				t.Errorf("%s: err %v, want interim", tc.status, err)
			}
			continue
		}
		if err != nil || rc.Status != tc.want || rc.ProviderID != "SM1234" || rc.Address != "+33612345678" || rc.Code != tc.code || !rc.At.Equal(t0) {
			t.Errorf("%s/%s: %+v %v", tc.status, tc.code, rc, err)
		}
	}
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	if _, err := sms.ParseTwilioStatusCallback(signedCallback(full, form, "wrong"), authToken, full, "twilio-fr", t0); !errors.Is(err, sms.ErrBadSignature) {
		t.Errorf("forged callback: %v", err)
	}
	if _, err := sms.ParseTwilioStatusCallback(signedCallback("https://other.example/cb", form, authToken), authToken, full, "twilio-fr", t0); !errors.Is(err, sms.ErrBadSignature) {
		t.Errorf("callback signed for another URL: %v", err)
	}
}

func TestParseTwilioInbound(t *testing.T) {
	const full = "https://parcours.example/in/twilio"
	for body, stop := range map[string]bool{"STOP": true, " arrêt ": true, "Arret.": true, "stop": true, "Bonjour, je voudrais": false} {
		form := url.Values{"MessageSid": {"SM77"}, "From": {"+33612345678"}, "To": {"+33700000001"}, "Body": {body}}
		in, err := sms.ParseTwilioInbound(signedCallback(full, form, authToken), authToken, full, "twilio-fr")
		if err != nil || in.From != "+33612345678" || in.Body != body || in.IsOptOut() != stop {
			t.Errorf("%q: %+v opt-out=%v err %v", body, in, in.IsOptOut(), err)
		}
	}
}
