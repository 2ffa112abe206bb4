package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/providers"
	"github.com/parcours/parcours/internal/message/sms"
	"github.com/parcours/parcours/internal/server"
)

// TestTwilioEndToEnd sends an SMS through a configured Twilio provider (a
// local server playing Twilio's Messages API), records Twilio's signed
// status callback as Message Delivered on the customer's timeline, and
// applies an inbound STOP: the next marketing SMS is not sent.
func TestTwilioEndToEnd(t *testing.T) {
	var mu sync.Mutex
	var sent []url.Values
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "AC123" || pass != "tok" || !strings.HasSuffix(r.URL.Path, "/Accounts/AC123/Messages.json") {
			w.WriteHeader(401)
			return
		}
		r.ParseForm()
		mu.Lock()
		sent = append(sent, r.PostForm)
		mu.Unlock()
		w.WriteHeader(201)
		io.WriteString(w, `{"sid":"SM0001","status":"queued"}`)
	}))
	defer twilio.Close()
	h := newHarness(t, withProviders(t, `
  - name: twilio-fr
    type: twilio
    channel: sms
    settings:
      account_sid: AC123
      auth_token: tok
      from: "+33700000000"
      base_url: `+twilio.URL))
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/identify", `{"userId":"zoe","traits":{"phone":"+33612345678","smsOptIn":true},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	waitFor(t, "sms consent from the identify traits", func() bool {
		_, c := h.api("/api/v1/profiles?user_id=zoe")
		return strings.Contains(toJSON(c), `"sms"`) && strings.Contains(toJSON(c["consent"]), "true")
	})
	send := func(key string) map[string]any {
		code, resp := h.post("/api/v1/messages", `{"identifier":"user_id:zoe","channel":"sms","topic":"offers",
			"content":{"sms":{"body":"-20% sur les chaussures ce week-end"}},"idempotency_key":"`+key+`"}`)
		if code != 202 && code != 200 {
			t.Fatalf("send %s: %d %v", key, code, resp)
		}
		return resp
	}
	msg := send("promo-1")
	id := jsonNumber(msg["id"])
	waitFor(t, "the SMS handed to Twilio", func() bool {
		_, m := h.api("/api/v1/messages/" + id)
		return m["status"] == "sent"
	})
	mu.Lock()
	if len(sent) != 1 || sent[0].Get("To") != "+33612345678" || sent[0].Get("From") != "+33700000000" {
		t.Fatalf("Twilio received %v", sent)
	}
	mu.Unlock()

	// Twilio's status callback, signed with the auth token over the URL
	// Twilio was given.
	form := url.Values{"MessageSid": {"SM0001"}, "MessageStatus": {"delivered"}, "To": {"+33612345678"}, "AccountSid": {"AC123"}}
	hook := "/hooks/twilio/twilio-fr/status"
	post := func(path string, form url.Values, sig string) int {
		req, _ := http.NewRequest("POST", h.http.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		res, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post(hook, form, "forged"); code != 403 {
		t.Fatalf("forged callback: %d, want 403", code)
	}
	if code := post(hook, form, sms.TwilioSignature("tok", "https://shop.example"+hook, form)); code != 200 {
		t.Fatalf("status callback: %d", code)
	}
	_, prof := h.api("/api/v1/profiles?user_id=zoe")
	waitFor(t, "Message Delivered on the timeline", func() bool {
		_, tl := h.api("/api/v1/profiles/" + jsonNumber(prof["id"]) + "/timeline")
		return strings.Contains(toJSON(tl), "Message Delivered")
	})

	// A segment of customers who can be texted holds Zoe until she says
	// STOP.
	if code, resp := h.post("/api/v1/segments?wait=true", `{"id":"textable","name":"Textable","where":{"reachable":"sms"}}`); code != 200 {
		t.Fatalf("segment: %d %v", code, resp)
	}
	members := func() int {
		_, m := h.api("/api/v1/segments/textable/members")
		return len(m["members"].([]any))
	}
	if n := members(); n != 1 {
		t.Fatalf("textable members before STOP: %d", n)
	}

	// STOP by SMS withdraws SMS consent: the next offer is not sent.
	inbound := url.Values{"MessageSid": {"SM9"}, "From": {"+33612345678"}, "To": {"+33700000000"}, "Body": {" stop "}, "AccountSid": {"AC123"}}
	in := "/hooks/twilio/twilio-fr/inbound"
	if code := post(in, inbound, sms.TwilioSignature("tok", "https://shop.example"+in, inbound)); code != 200 {
		t.Fatalf("inbound: %d", code)
	}
	waitFor(t, "Zoe out of the textable segment", func() bool { return members() == 0 })

	second := send("promo-2")
	if second["status"] != "skipped" || !strings.Contains(second["reason"].(string), "texted STOP") {
		t.Fatalf("the offer after STOP: %v", second)
	}
	// A CRM sync replaying her old opt-in trait: still not textable.
	if code, resp := h.ingest("/v1/identify", `{"userId":"zoe","traits":{"smsOptIn":true},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	waitFor(t, "the trait's grant in the ledger", func() bool {
		_, c := h.api("/api/v1/profiles/" + jsonNumber(prof["id"]) + "/consent")
		return strings.Count(toJSON(c["ledger"]), `"source":"identify:`) == 2
	})
	h.waitSegments()
	if n := members(); n != 0 {
		t.Fatalf("textable members after STOP and an opt-in trait: %d", n)
	}
	if third := send("promo-3"); third["status"] != "skipped" {
		t.Fatalf("the offer after the trait: %v", third)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 1 {
		t.Fatalf("Twilio received %d messages after STOP, want 1", len(sent))
	}
}

// TestWhatsAppStop: a customer who writes STOP on WhatsApp withdraws their
// WhatsApp consent (the webhook is signed with the app secret).
func TestWhatsAppStop(t *testing.T) {
	h := newHarness(t, withProviders(t, `
  - name: wa
    type: whatsapp
    channel: whatsapp
    settings:
      phone_number_id: "106540352242922"
      access_token: tok
      app_secret: app-secret-xyz
      verify_token: verify-me`))
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/identify", `{"userId":"ines","traits":{"phone":"+33612345678","whatsappOptIn":true},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	consent := func() string {
		_, p := h.api("/api/v1/profiles?user_id=ines")
		_, c := h.api("/api/v1/profiles/" + jsonNumber(p["id"]) + "/consent")
		return toJSON(c["current"])
	}
	waitFor(t, "whatsapp consent granted", func() bool { return strings.Contains(consent(), `"granted":true`) })

	// The subscription handshake, then a STOP message.
	res, err := h.client.Get(h.http.URL + "/hooks/whatsapp/wa?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "1158201444" {
		t.Fatalf("handshake: %d %q", res.StatusCode, body)
	}
	payload := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp",
		"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
		"messages":[{"from":"33612345678","id":"wamid.IN","timestamp":"1795442408","type":"text","text":{"body":"Stop"}}]},"field":"messages"}]}]}`
	mac := hmac.New(sha256.New, []byte("app-secret-xyz"))
	mac.Write([]byte(payload))
	req, _ := http.NewRequest("POST", h.http.URL+"/hooks/whatsapp/wa", strings.NewReader(payload))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err = h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("webhook: %d", res.StatusCode)
	}
	if c := consent(); !strings.Contains(c, `"granted":false`) || !strings.Contains(c, "whatsapp-stop") {
		t.Fatalf("consent after STOP: %s", c)
	}
}

// TestHardBounceMakesUnreachable: Twilio reports a number that does not
// exist (30005); the number is suppressed and the customer leaves a
// segment of customers who can be texted, though they still consent.
func TestHardBounceMakesUnreachable(t *testing.T) {
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(201)
		io.WriteString(w, `{"sid":"SM0002","status":"queued"}`)
	}))
	defer twilio.Close()
	h := newHarness(t, withProviders(t, `
  - name: twilio-fr
    type: twilio
    channel: sms
    settings:
      account_sid: AC123
      auth_token: tok
      from: "+33700000000"
      base_url: `+twilio.URL))
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/identify", `{"userId":"leo","traits":{"phone":"+33698765432","smsOptIn":true},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	if code, resp := h.post("/api/v1/segments?wait=true", `{"id":"textable","name":"Textable","where":{"reachable":"sms"}}`); code != 200 {
		t.Fatalf("segment: %d %v", code, resp)
	}
	members := func() int {
		_, m := h.api("/api/v1/segments/textable/members")
		return len(m["members"].([]any))
	}
	waitFor(t, "Leo textable", func() bool { return members() == 1 })
	code, msg := h.post("/api/v1/messages", `{"identifier":"user_id:leo","channel":"sms","topic":"offers",
		"content":{"sms":{"body":"Bonjour"}},"idempotency_key":"b-1"}`)
	if code != 202 && code != 200 {
		t.Fatalf("send: %d %v", code, msg)
	}
	waitFor(t, "the SMS handed to Twilio", func() bool {
		_, m := h.api("/api/v1/messages/" + jsonNumber(msg["id"]))
		return m["status"] == "sent"
	})
	form := url.Values{"MessageSid": {"SM0002"}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30005"},
		"To": {"+33698765432"}, "AccountSid": {"AC123"}}
	hook := "/hooks/twilio/twilio-fr/status"
	req, _ := http.NewRequest("POST", h.http.URL+hook, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sms.TwilioSignature("tok", "https://shop.example"+hook, form))
	res, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status callback: %d", res.StatusCode)
	}
	waitFor(t, "Leo out of the textable segment after the hard bounce", func() bool { return members() == 0 })
}

// withProviders configures a harness with the providers of a providers
// file's list (YAML entries under "providers:") and the public URL
// https://shop.example that provider signatures are checked against.
func withProviders(t testing.TB, entries string) func(*server.Options) {
	t.Helper()
	cfg, err := providers.Parse([]byte("providers:\n"+entries+"\n"), "providers.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	set, _, err := server.ProviderSet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return func(o *server.Options) {
		o.Providers, o.ProviderConfig = set, cfg
		o.Messages.BaseURL = "https://shop.example"
	}
}
