package whatsapp_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/whatsapp"
)

const token provider.Secret = "EAAG-test-access-token"

func fakeGraph(t *testing.T, status int, answer string, check func(map[string]any)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v21.0/106540352242922/messages" {
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+token.Reveal() {
			t.Errorf("Authorization %q", got)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if body["messaging_product"] != "whatsapp" || body["to"] != "33612345678" {
			t.Errorf("body %v", body)
		}
		if check != nil {
			check(body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newProvider(t *testing.T, base string) *whatsapp.Provider {
	p, err := whatsapp.New(whatsapp.Config{Name: "wa", PhoneNumberID: "106540352242922", AccessToken: token, BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

const okAnswer = `{"messaging_product":"whatsapp","contacts":[{"input":"+33612345678","wa_id":"33612345678"}],"messages":[{"id":"wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI"}]}`

func TestSendSession(t *testing.T) {
	srv := fakeGraph(t, 200, okAnswer, func(b map[string]any) {
		want := map[string]any{"preview_url": false, "body": "Votre colis arrive demain"}
		if b["type"] != "text" || b["recipient_type"] != "individual" || !equalJSON(b["text"], want) || b["template"] != nil {
			t.Errorf("body %v", b)
		}
	})
	res, err := newProvider(t, srv.URL).Send(context.Background(), &provider.Message{Key: "k", To: "+33612345678", Body: "Votre colis arrive demain"})
	if err != nil || res.ProviderID != "wamid.HBgLMzM2MTIzNDU2NzgVAgARGBI" {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestSendTemplate(t *testing.T) {
	srv := fakeGraph(t, 200, okAnswer, func(b map[string]any) {
		want := map[string]any{"name": "order_shipped", "language": map[string]any{"code": "fr"},
			"components": []any{map[string]any{"type": "body", "parameters": []any{
				map[string]any{"type": "text", "text": "Camille"}, map[string]any{"type": "text", "text": "A-17"}}}}}
		if b["type"] != "template" || !equalJSON(b["template"], want) || b["text"] != nil {
			t.Errorf("template %v", b["template"])
		}
	})
	m := &provider.Message{Key: "k", To: "+33612345678", Template: &provider.WhatsAppTemplate{Name: "order_shipped", Language: "fr", Params: []string{"Camille", "A-17"}}}
	if _, err := newProvider(t, srv.URL).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestSendErrors(t *testing.T) {
	for _, tc := range []struct {
		status    int
		code      int
		temporary bool
	}{{400, 131047, false}, {429, 130429, true}, {400, 131056, true}, {401, 190, false}, {500, 131000, true}, {400, 131026, false}} {
		answer := `{"error":{"message":"(#` + itoa(tc.code) + `) documented title","type":"OAuthException","code":` + itoa(tc.code) + `,"error_data":{"messaging_product":"whatsapp","details":"documented details"},"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}`
		srv := fakeGraph(t, tc.status, answer, nil)
		_, err := newProvider(t, srv.URL).Send(context.Background(), &provider.Message{Key: "k", To: "+33612345678", Body: "x"})
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Temporary != tc.temporary || pe.Code != itoa(tc.code) {
			t.Errorf("%d: %v", tc.code, err)
		}
		if strings.Contains(err.Error(), token.Reveal()) {
			t.Errorf("error leaks the token")
		}
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestVerifySubscription(t *testing.T) {
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"vt-1"}, "hub.challenge": {"1158201444"}}
	if c, err := whatsapp.VerifySubscription(q, "vt-1"); err != nil || c != "1158201444" {
		t.Fatalf("%q %v", c, err)
	}
	if _, err := whatsapp.VerifySubscription(q, "other"); !errors.Is(err, whatsapp.ErrBadVerifyToken) {
		t.Fatalf("wrong token: %v", err)
	}
}

const statusPayload = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
 "statuses":[
  {"id":"wamid.A","status":"delivered","timestamp":"1795442405","recipient_id":"33612345678","conversation":{"id":"c1","origin":{"type":"marketing"}},"pricing":{"billable":true,"pricing_model":"CBP","category":"marketing"}},
  {"id":"wamid.B","status":"failed","timestamp":"1795442406","recipient_id":"33612345679","errors":[{"code":131047,"title":"Re-engagement message"}]},
  {"id":"wamid.C","status":"read","timestamp":"1795442407","recipient_id":"33612345678"}],
 "messages":[{"from":"33612345678","id":"wamid.IN","timestamp":"1795442408","type":"text","text":{"body":"STOP"}}]},
 "field":"messages"}]}]}`

func TestParseWebhook(t *testing.T) {
	const appSecret provider.Secret = "app-secret-xyz"
	h := hmac.New(sha256.New, []byte(appSecret))
	h.Write([]byte(statusPayload))
	r := httptest.NewRequest(http.MethodPost, "/cb/whatsapp", strings.NewReader(statusPayload))
	r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(h.Sum(nil)))
	n, err := whatsapp.ParseWebhook(r, appSecret, "wa")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1795442405, 0).UTC()
	want := []provider.Receipt{
		{Provider: "wa", ProviderID: "wamid.A", Status: provider.Delivered, At: at, Address: "+33612345678"},
		{Provider: "wa", ProviderID: "wamid.B", Status: provider.Failed, At: at.Add(time.Second), Address: "+33612345679", Code: "131047", Reason: "Re-engagement message"},
		{Provider: "wa", ProviderID: "wamid.C", Status: provider.Read, At: at.Add(2 * time.Second), Address: "+33612345678"},
	}
	if len(n.Receipts) != 3 {
		t.Fatalf("receipts %+v", n.Receipts)
	}
	for i := range want {
		if n.Receipts[i] != want[i] {
			t.Errorf("receipt %d: %+v, want %+v", i, n.Receipts[i], want[i])
		}
	}
	if len(n.Inbound) != 1 || n.Inbound[0].Body != "STOP" || n.Inbound[0].From != "33612345678" {
		t.Errorf("inbound %+v", n.Inbound)
	}

	r = httptest.NewRequest(http.MethodPost, "/cb/whatsapp", strings.NewReader(statusPayload))
	r.Header.Set("X-Hub-Signature-256", "sha256=00")
	if _, err := whatsapp.ParseWebhook(r, appSecret, "wa"); !errors.Is(err, whatsapp.ErrBadSignature) {
		t.Fatalf("forged: %v", err)
	}
}

func FuzzDecodeWebhook(f *testing.F) {
	f.Add([]byte(statusPayload))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = whatsapp.DecodeWebhook(b, "wa") })
}
