package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/message/sms"
)

// fakeWhatsApp answers the Cloud API's messages endpoint and keeps what it
// was sent.
type fakeWhatsApp struct {
	mu   sync.Mutex
	sent []string
}

func (f *fakeWhatsApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.sent = append(f.sent, string(b))
	n := len(f.sent)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":"33612345678","wa_id":"33612345678"}],"messages":[{"id":"wamid.OUT%d"}]}`, n)
}

func (f *fakeWhatsApp) bodies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

// TestConversationAcrossChannels: a customer texts by SMS (Twilio's
// callback, signed), then by WhatsApp (Meta's webhook, signed): one
// conversation. The agent answers by WhatsApp inside the 24-hour window;
// the delivery status follows; outside the window a free text is refused,
// naming the window's end.
func TestConversationAcrossChannels(t *testing.T) {
	wa := &fakeWhatsApp{}
	waSrv := httptest.NewServer(wa)
	defer waSrv.Close()
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
      base_url: `+twilio.URL+`
  - name: wa
    type: whatsapp
    channel: whatsapp
    settings:
      phone_number_id: "106540352242922"
      access_token: tok
      app_secret: app-secret-xyz
      verify_token: verify-me
      base_url: `+waSrv.URL), noRateLimit)
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/identify", `{"userId":"ines","traits":{"phone":"+33612345678","email":"ines@example.com","whatsappOptIn":true},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	pid := h.profileOf("ines")

	// SMS, through Twilio's signed callback.
	inbound := url.Values{"MessageSid": {"SMin1"}, "From": {"+33612345678"}, "To": {"+33700000000"}, "Body": {"Bonjour, ma commande 1042 ?"}, "AccountSid": {"AC123"}}
	in := "/hooks/twilio/twilio-fr/inbound"
	post := func(sig string) int {
		req, _ := http.NewRequest("POST", h.http.URL+in, strings.NewReader(inbound.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		res, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := post("forged"); code != 403 {
		t.Fatalf("unsigned Twilio callback: %d", code)
	}
	for range 2 { // Twilio delivering it twice
		if code := post(sms.TwilioSignature("tok", "https://shop.example"+in, inbound)); code != 200 {
			t.Fatalf("Twilio inbound: %d", code)
		}
	}
	// WhatsApp, through Meta's signed webhook.
	h.clock.Advance(time.Minute)
	payload := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp",
		"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
		"messages":[{"from":"33612345678","id":"wamid.IN1","timestamp":"%d","type":"text","text":{"body":"Je vous écris aussi ici"}}]},"field":"messages"}]}]}`, h.clock.Now().Unix())
	mac := hmac.New(sha256.New, []byte("app-secret-xyz"))
	mac.Write([]byte(payload))
	for _, sig := range []string{"sha256=" + strings.Repeat("0", 64), "sha256=" + hex.EncodeToString(mac.Sum(nil))} {
		req, _ := http.NewRequest("POST", h.http.URL+"/hooks/whatsapp/wa", strings.NewReader(payload))
		req.Header.Set("X-Hub-Signature-256", sig)
		res, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if want := map[bool]int{true: 200, false: 403}[strings.HasSuffix(sig, hex.EncodeToString(mac.Sum(nil)))]; res.StatusCode != want {
			t.Fatalf("WhatsApp webhook with signature %s: %d; want %d", sig[:12], res.StatusCode, want)
		}
	}

	code, out := h.adminJSON("GET", "/api/v1/conversations?customer=%2B33612345678", "")
	list, _ := out["conversations"].([]any)
	if code != 200 || len(list) != 1 {
		t.Fatalf("conversations of the customer: %d %v", code, out)
	}
	conv := list[0].(map[string]any)
	id := jsonNumber(conv["id"])
	if conv["profile_id"] != float64(pid) || conv["channel"] != "whatsapp" || conv["status"] != "open" {
		t.Fatalf("conversation %v", conv)
	}
	code, out = h.adminJSON("GET", "/api/v1/conversations/"+id, "")
	msgs, _ := out["messages"].([]any)
	if code != 200 || len(msgs) != 2 || msgs[0].(map[string]any)["channel"] != "sms" || msgs[1].(map[string]any)["body"] != "Je vous écris aussi ici" {
		t.Fatalf("conversation %s: %d %v", id, code, out)
	}

	// The agent answers by WhatsApp inside the window.
	code, out = h.adminJSON("POST", "/api/v1/conversations/"+id+"/messages", `{"channel":"whatsapp","body":"Elle part demain","key":"r1"}`)
	if code != 201 {
		t.Fatalf("reply: %d %v", code, out)
	}
	waitFor(t, "the WhatsApp answer at the provider", func() bool {
		b := wa.bodies()
		return len(b) == 1 && strings.Contains(b[0], `"body":"Elle part demain"`) && strings.Contains(b[0], `"to":"33612345678"`)
	})
	waitFor(t, "the answer's status sent", func() bool {
		_, out := h.adminJSON("GET", "/api/v1/conversations/"+id, "")
		m := out["messages"].([]any)
		return len(m) == 3 && m[2].(map[string]any)["status"] == "sent" && m[2].(map[string]any)["provider_id"] == "wamid.OUT1"
	})
	// Meta's delivery receipt for it.
	status := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp",
		"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
		"statuses":[{"id":"wamid.OUT1","status":"delivered","timestamp":"%d","recipient_id":"33612345678"}]},"field":"messages"}]}]}`, h.clock.Now().Unix())
	mac = hmac.New(sha256.New, []byte("app-secret-xyz"))
	mac.Write([]byte(status))
	req, _ := http.NewRequest("POST", h.http.URL+"/hooks/whatsapp/wa", strings.NewReader(status))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	if res, err := h.client.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("receipt: %v %v", res, err)
	}
	waitFor(t, "the answer's status delivered", func() bool {
		_, out := h.adminJSON("GET", "/api/v1/conversations/"+id, "")
		return out["messages"].([]any)[2].(map[string]any)["status"] == "delivered" && out["status"] == "pending"
	})

	// A day later, free text is refused; the error names the window's end.
	end := h.clock.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)
	h.clock.Advance(25 * time.Hour)
	code, out = h.adminJSON("POST", "/api/v1/conversations/"+id+"/messages", `{"channel":"whatsapp","body":"Toujours là ?","key":"r2"}`)
	if e, _ := out["error"].(map[string]any); code != 409 || e["code"] != "whatsapp_window_closed" || !strings.Contains(fmt.Sprint(e["message"]), end) {
		t.Fatalf("free text outside the window: %d %v; want 409 naming %s", code, out, end)
	}

	// Queue, assignment, resolution through the API.
	if code, out := h.adminJSON("PATCH", "/api/v1/conversations/"+id, `{"tags":["livraison"],"priority":"high"}`); code != 200 || out["priority"] != "high" {
		t.Fatalf("patch: %d %v", code, out)
	}
	if code, out := h.adminJSON("POST", "/api/v1/conversations/"+id+"/assign", `{"assignee":"leo@shop.example"}`); code != 200 || out["assignee"] != "leo@shop.example" {
		t.Fatalf("assign: %d %v", code, out)
	}
	if code, out := h.adminJSON("GET", "/api/v1/conversations?status=active&assignee=leo@shop.example&tag=livraison&q=commande", ""); code != 200 || len(out["conversations"].([]any)) != 1 {
		t.Fatalf("queue: %d %v", code, out)
	}
	if code, out := h.adminJSON("POST", "/api/v1/conversations/"+id+"/resolve", ""); code != 200 || out["status"] != "resolved" {
		t.Fatalf("resolve: %d %v", code, out)
	}
	// The timeline has the conversation.
	waitFor(t, "conversation events on the timeline", func() bool {
		_, out := h.adminJSON("GET", fmt.Sprintf("/api/v1/profiles/%d/timeline", pid), "")
		s := toJSON(out)
		return strings.Contains(s, "Conversation Message Received") && strings.Contains(s, "Conversation Message Sent") &&
			strings.Contains(s, "Conversation Status Changed")
	})
}

// TestConversationStoreScope: store roles work the conversations of their
// stores only; a phone note opens one.
func TestConversationStoreScope(t *testing.T) {
	h := newHarness(t, noRateLimit)
	keys := h.roleKeys() // store roles on lyon-01
	staff := bearer(keys[auth.RoleStoreStaff])
	agent := bearer(keys[auth.RoleAgent])
	code, _, out := h.do("POST", "/api/v1/conversations", []byte(`{"profile_id":41,"store_id":"lyon-01","channel":"store_note","body":"Essayé le 39, revient samedi","key":"n1"}`), staff)
	if code != 201 {
		t.Fatalf("store note: %d %v", code, out)
	}
	lyon := jsonNumber(out["conversation"].(map[string]any)["id"])
	code, _, out = h.do("POST", "/api/v1/conversations", []byte(`{"profile_id":42,"channel":"phone_note","body":"A appelé pour un retour","key":"n2"}`), agent)
	if code != 201 {
		t.Fatalf("phone note: %d %v", code, out)
	}
	team := jsonNumber(out["conversation"].(map[string]any)["id"])
	if code, _, out := h.do("GET", "/api/v1/conversations", nil, staff); code != 200 || len(out["conversations"].([]any)) != 1 {
		t.Fatalf("staff's queue: %d %v", code, out)
	}
	if code, _, _ := h.do("GET", "/api/v1/conversations/"+team, nil, staff); code != 403 {
		t.Fatalf("staff reads the service team's conversation: %d", code)
	}
	if code, _, _ := h.do("POST", "/api/v1/conversations/"+lyon+"/messages", []byte(`{"channel":"note","body":"à rappeler","key":"n3"}`), staff); code != 201 {
		t.Fatalf("staff writes a note in lyon's: %d", code)
	}
	if code, _, _ := h.do("GET", "/api/v1/conversations?store_id=paris-02", nil, staff); code != 403 {
		t.Fatalf("staff lists paris-02: %d", code)
	}
	if code, _, _ := h.do("GET", "/api/v1/conversations", nil, bearer(keys[auth.RoleMarketer])); code != 403 {
		t.Fatalf("a marketer lists conversations: %d", code)
	}
	if code, _, out := h.do("POST", "/api/v1/conversations/"+team+"/merge", []byte(`{"into":`+lyon+`}`), agent); code != 200 {
		t.Fatalf("merge: %d %v", code, out)
	}
	if code, _, out := h.do("POST", "/api/v1/conversations/"+team+"/reopen", nil, agent); code != 400 {
		t.Fatalf("reopening a merged conversation: %d %v", code, out)
	}
}

// TestWebChat: a widget starts a chat with the site's write key, the
// visitor writes, the agent answers on the chat, the widget reads it.
func TestWebChat(t *testing.T) {
	h := newHarness(t, noRateLimit)
	code, _, out := h.do("POST", "/api/v1/chat/sessions", []byte(`{"write_key":"nope","anonymous_id":"a-1"}`), nil)
	if code != 401 {
		t.Fatalf("chat with a wrong write key: %d %v", code, out)
	}
	code, hdr, _ := h.do("OPTIONS", "/api/v1/chat/sessions", nil, map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
	if code != 204 || hdr.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %d %v", code, hdr)
	}
	code, _, out = h.do("POST", "/api/v1/chat/sessions", []byte(`{"write_key":"`+h.src.WriteKey+`","anonymous_id":"a-1"}`), nil)
	if code != 201 || out["token"] == nil {
		t.Fatalf("chat session: %d %v", code, out)
	}
	tok := map[string]string{"Authorization": "Bearer " + out["token"].(string)}
	if code, _, out := h.do("POST", "/api/v1/chat/messages", []byte(`{"id":"w1","text":"Bonjour !"}`), tok); code != 201 || out["from"] != "you" {
		t.Fatalf("visitor writes: %d %v", code, out)
	}
	if code, _, _ := h.do("POST", "/api/v1/chat/messages", []byte(`{"id":"w1","text":"Bonjour !"}`), map[string]string{"Authorization": "Bearer forged.sig"}); code != 401 {
		t.Fatalf("a forged token: %d", code)
	}
	_, out = h.adminJSON("GET", "/api/v1/conversations?status=open", "")
	id := jsonNumber(out["conversations"].([]any)[0].(map[string]any)["id"])
	if code, out := h.adminJSON("POST", "/api/v1/conversations/"+id+"/messages", `{"body":"Bonjour, que puis-je faire ?","key":"a1"}`); code != 201 {
		t.Fatalf("agent answers on the chat: %d %v", code, out)
	}
	code, _, out = h.do("GET", "/api/v1/chat/lines", nil, tok)
	lines, _ := out["lines"].([]any)
	if code != 200 || len(lines) != 2 || lines[1].(map[string]any)["from"] != "agent" {
		t.Fatalf("widget reads: %d %v", code, out)
	}
}

// TestConversationFromVonage: an SMS through Vonage's inbound webhook (its
// documented parameters, as GET query and as JSON, authenticated by the
// account's api-key) lands in the customer's conversation, once though
// delivered twice; another api-key is refused and stores nothing.
func TestConversationFromVonage(t *testing.T) {
	h := newHarness(t, withProviders(t, `
  - name: vg
    type: vonage
    channel: sms
    settings: {api_key: vk1, api_secret: s, from: Boutique}`), noRateLimit)
	ts := h.clock.Now().Format(time.RFC3339)
	if code, resp := h.ingest("/v1/identify", `{"userId":"ines","traits":{"phone":"+33612345678"},"timestamp":"`+ts+`"}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	pid := h.profileOf("ines")
	get := func(key, id, text string) int {
		q := url.Values{"api-key": {key}, "msisdn": {"33612345678"}, "to": {"33700000000"}, "messageId": {id},
			"text": {text}, "type": {"text"}, "keyword": {"BONJOUR"}, "message-timestamp": {"2026-03-10 08:00:00"}}
		res, err := h.client.Get(h.http.URL + "/hooks/vonage/vg/inbound?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := get("not-the-key", "0A01", "Bonjour"); code != 403 {
		t.Fatalf("inbound with another api-key: %d; want 403", code)
	}
	for range 2 { // Vonage retrying a delivery it saw no 200 for
		if code := get("vk1", "0A02", "Bonjour, ma commande 1042 ?"); code != 200 {
			t.Fatalf("Vonage inbound: %d", code)
		}
	}
	body := `{"api-key":"vk1","msisdn":"33612345678","to":"33700000000","messageId":"0A03","text":"Toujours rien reçu","type":"text"}`
	req, _ := http.NewRequest("POST", h.http.URL+"/hooks/vonage/vg/inbound", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if res, err := h.client.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("Vonage inbound as JSON: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	code, out := h.adminJSON("GET", "/api/v1/conversations?customer=%2B33612345678", "")
	list, _ := out["conversations"].([]any)
	if code != 200 || len(list) != 1 || list[0].(map[string]any)["profile_id"] != float64(pid) {
		t.Fatalf("conversations of the customer: %d %v", code, out)
	}
	id := jsonNumber(list[0].(map[string]any)["id"])
	code, out = h.adminJSON("GET", "/api/v1/conversations/"+id, "")
	msgs, _ := out["messages"].([]any)
	if code != 200 || len(msgs) != 2 || msgs[0].(map[string]any)["channel"] != "sms" ||
		msgs[0].(map[string]any)["body"] != "Bonjour, ma commande 1042 ?" || msgs[1].(map[string]any)["body"] != "Toujours rien reçu" {
		t.Fatalf("conversation %s: %d %v", id, code, out)
	}
}
