package server_test

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
)

func (h *harness) adminJSON(method, path, body string) (int, map[string]any) {
	h.t.Helper()
	code, _, out := h.do(method, path, []byte(body), map[string]string{"Authorization": "Bearer " + h.admin, "Content-Type": "application/json"})
	return code, out
}

// waitMessage polls GET /api/v1/messages/{id} until its status is want.
func (h *harness) waitMessage(id float64, want string) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, m := h.api(fmt.Sprintf("/api/v1/messages/%d", int64(id)))
		if m["status"] == want || time.Now().After(deadline) {
			if m["status"] != want {
				h.t.Fatalf("message %v: %v, want status %s", id, m, want)
			}
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMessagesAPI(t *testing.T) {
	email := messagetest.NewRecorder("test-email", provider.Email)
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.Email: {Provider: email}}
		o.Messages = message.Options{BaseURL: "https://crm.example", Secret: []byte("s"), Poll: 20 * time.Millisecond}
	})
	body := `{"batch":[{"type":"identify","userId":"zoe","traits":{"email":"zoe@example.fr","phone":"0612345678","first_name":"Zoé","email_opt_in":true},"timestamp":"2026-11-20T10:02:00Z"}]}`
	if code, resp := h.ingest("/v1/batch", body); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	h.waitConsumer(message.Consumer)

	// A template with an unknown variable is refused with its position.
	code, resp := h.adminJSON("POST", "/api/v1/templates", `{"id":"welcome","topic":"newsletter","body":{"email":{"subject":"Bienvenue","html":"<p>Bonjour\n {{ customer.name }}</p>"}}}`)
	problems, _ := resp["error"].(map[string]any)["details"].(map[string]any)["problems"].([]any)
	if code != 400 || len(problems) != 1 || problems[0].(map[string]any)["line"] != 2.0 || problems[0].(map[string]any)["column"] != 5.0 {
		t.Fatalf("bad template: %d %v", code, resp)
	}
	code, resp = h.adminJSON("POST", "/api/v1/templates", `{"id":"welcome","topic":"newsletter","body":{
		"email":{"subject":"Bienvenue {{ profile.first_name }}","html":"<p>Bonjour {{ profile.first_name }}, <a href=\"https://shop.example/\">la boutique</a></p>"},
		"sms":{"body":"Bonjour {{ profile.first_name }} !"}}}`)
	if code != 201 || resp["version"] != 1.0 {
		t.Fatalf("create template: %d %v", code, resp)
	}
	code, resp = h.adminJSON("POST", "/api/v1/templates/welcome/preview", `{"identifier":"email:ZOE@example.fr"}`)
	chans, _ := resp["channels"].(map[string]any)
	if code != 200 || chans["email"].(map[string]any)["message"].(map[string]any)["subject"] != "Bienvenue Zoé" ||
		chans["sms"].(map[string]any)["sms"].(map[string]any)["segments"] != 1.0 ||
		!strings.Contains(chans["sms"].(map[string]any)["refusal"].(string), "no sms marketing consent") {
		t.Fatalf("preview: %d %v", code, resp)
	}

	code, sent := h.adminJSON("POST", "/api/v1/messages", `{"identifier":"user_id:zoe","channel":"best","template_id":"welcome","idempotency_key":"w-1"}`)
	if code != 202 || sent["channel"] != "email" {
		t.Fatalf("send: %d %v", code, sent)
	}
	m := h.waitMessage(sent["id"].(float64), "sent")
	if _, again := h.adminJSON("POST", "/api/v1/messages", `{"identifier":"user_id:zoe","channel":"best","template_id":"welcome","idempotency_key":"w-1"}`); again["id"] != m["id"] {
		t.Fatalf("the same idempotency key made another message: %v", again)
	}
	code, sms := h.adminJSON("POST", "/api/v1/messages", `{"profile_id":1,"channel":"sms","topic":"order_updates","content":{"sms":{"body":"Expédiée"}},"idempotency_key":"o-1"}`)
	if code != 202 {
		t.Fatalf("sms: %d %v", code, sms)
	}
	if f := h.waitMessage(sms["id"].(float64), "failed"); f["reason"] != "no provider configured for channel sms" {
		t.Fatalf("sms without a provider: %v", f)
	}
	// The outcome is on the customer's timeline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, tl := h.api("/api/v1/profiles/1/timeline?event=Message%20Sent")
		if evs, _ := tl["events"].([]any); len(evs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			_, all := h.api("/api/v1/profiles/1/timeline")
			_, evs := h.api("/api/v1/events?limit=20")
			t.Fatalf("no Message Sent on the timeline: %v\n%v\n%v", tl, all, evs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, list := h.api("/api/v1/profiles/1/messages"); code != 200 || len(list["messages"].([]any)) != 2 {
		t.Fatalf("profile messages: %d %v", code, list)
	}
	if code, resp := h.adminJSON("POST", "/api/v1/receipts/test-email", fmt.Sprintf(`{"provider_id":%q,"status":"delivered"}`, m["provider_id"])); code != 200 || resp["handled"] != 1.0 {
		t.Fatalf("receipt: %d %v", code, resp)
	}
	if code, _ := h.adminJSON("POST", "/api/v1/receipts/test-email", `{"provider_id":"nope","status":"delivered"}`); code != 404 {
		t.Fatalf("receipt for an unknown message: %d", code)
	}

	// One-click unsubscribe from the List-Unsubscribe header, without the
	// admin key.
	mail := email.Sent()[0]
	link := strings.Trim(strings.Split(mail.Headers["List-Unsubscribe"], ",")[0], "<>")
	path := strings.TrimPrefix(link, "https://crm.example")
	resp2, err := h.client.Get(h.http.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp2.StatusCode != 200 || !strings.Contains(string(page), `name="topic" value="newsletter" checked`) {
		t.Fatalf("preference page: %d %s", resp2.StatusCode, page)
	}
	post, err := h.client.PostForm(h.http.URL+path, url.Values{"List-Unsubscribe": {"One-Click"}})
	if err != nil || post.StatusCode != 200 {
		t.Fatalf("one-click: %v %v", post, err)
	}
	post.Body.Close()
	code, consent := h.api("/api/v1/profiles/1/consent")
	ledger, _ := consent["ledger"].([]any)
	if code != 200 || len(ledger) != 2 || ledger[0].(map[string]any)["topic"] != "newsletter" || ledger[0].(map[string]any)["granted"] != false ||
		ledger[1].(map[string]any)["source"] != "identify:"+h.src.ID {
		t.Fatalf("consent: %d %v", code, consent)
	}
	if code, rec := h.adminJSON("POST", "/api/v1/consent", `{"identifier":"phone:+33612345678","channel":"sms","granted":true,"proof":{"form_text":"J'accepte"}}`); code != 201 || rec["source"] != "api" {
		t.Fatalf("post consent: %d %v", code, rec)
	}
	_, p := h.api("/api/v1/profiles/1")
	if c := p["consent"].(map[string]any); c["sms"] != true || c["email:newsletter"] != false || c["email"] != true {
		t.Fatalf("profile consent: %v", c)
	}
	// The tracked link redirects to the tagged target and records the
	// click; the pixel is a GIF.
	html := mail.HTML
	click := html[strings.Index(html, "https://crm.example/t/c/")+len("https://crm.example"):]
	click = click[:strings.IndexByte(click, '"')]
	r, err := h.client.Get(h.http.URL + click)
	if err != nil || r.StatusCode != 302 || r.Header.Get("Location") != "https://shop.example/?utm_campaign=welcome&utm_medium=email&utm_source=parcours" {
		t.Fatalf("click: %v %v", r, err)
	}
	r.Body.Close()
	pix := html[strings.Index(html, "https://crm.example/t/o/")+len("https://crm.example"):]
	pix = pix[:strings.IndexByte(pix, '"')]
	if r, err := h.client.Get(h.http.URL + pix); err != nil || r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/gif" {
		t.Fatalf("pixel: %v %v", r, err)
	}
	// Double opt-in: the grant counts once the link is followed (GET shows
	// a button, POST confirms).
	code, doi := h.adminJSON("POST", "/api/v1/consent", `{"profile_id":1,"channel":"email","topic":"offers","granted":true,"double_opt_in":true}`)
	if code != 202 {
		t.Fatalf("double opt-in: %d %v", code, doi)
	}
	h.waitMessage(doi["confirmation"].(map[string]any)["id"].(float64), "sent")
	confirmation := email.Sent()[len(email.Sent())-1].HTML
	confirm := confirmation[strings.Index(confirmation, "https://crm.example/c/")+len("https://crm.example"):]
	confirm = confirm[:strings.IndexByte(confirm, '"')]
	if r, err := h.client.Get(h.http.URL + confirm); err != nil || r.StatusCode != 200 {
		t.Fatalf("confirmation page: %v %v", r, err)
	}
	if r, err := h.client.PostForm(h.http.URL+confirm, nil); err != nil || r.StatusCode != 200 {
		t.Fatalf("confirm: %v %v", r, err)
	}
	if _, p := h.api("/api/v1/profiles/1"); p["consent"].(map[string]any)["email:offers"] != true {
		t.Fatalf("after confirmation: %v", p["consent"])
	}
	// Tracking routes refuse forged tokens.
	if r, _ := h.client.Get(h.http.URL + "/t/c/Zm9v.YmFy"); r.StatusCode != 404 {
		t.Fatalf("forged click: %d", r.StatusCode)
	}
}

// TestMessagesAPIErrors checks that bad requests say what is wrong.
func TestMessagesAPIErrors(t *testing.T) {
	h := newHarness(t)
	if code, resp := h.ingest("/v1/identify", `{"userId":"zoe","traits":{"email":"zoe@example.fr"}}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	runScenarios(t, h, []apiScenario{
		{Name: "no idempotency key", Method: "POST", URL: "/api/v1/messages", Body: `{"profile_id":1,"channel":"email","content":{"sms":{"body":"x"}}}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: "idempotency key is needed"},
		{Name: "unknown channel", Method: "POST", URL: "/api/v1/messages", Body: `{"profile_id":1,"channel":"fax","content":{"sms":{"body":"x"}},"idempotency_key":"k"}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: `unknown channel "fax"`},
		{Name: "bad inline content", Method: "POST", URL: "/api/v1/messages", Body: `{"profile_id":1,"channel":"sms","content":{"sms":{"body":"{{ x.y }}"}},"idempotency_key":"k2"}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: `sms.body:1:4: unknown variable "x"`},
		{Name: "unknown template", Method: "POST", URL: "/api/v1/messages", Body: `{"profile_id":1,"channel":"email","template_id":"nope","idempotency_key":"k3"}`, Admin: true, ExpectedStatus: 404, ExpectedMessage: "no template nope"},
		{Name: "unknown identifier", Method: "POST", URL: "/api/v1/messages", Body: `{"identifier":"email:nobody@example.fr","channel":"email","template_id":"x","idempotency_key":"k4"}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: "no profile holds email:nobody@example.fr"},
		{Name: "unknown field", Method: "POST", URL: "/api/v1/messages", Body: `{"profile":1}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: "unknown field"},
		{Name: "bad template id", Method: "POST", URL: "/api/v1/templates", Body: `{"id":"Bad Id","body":{"sms":{"body":"x"}}}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: "template id"},
		{Name: "unknown topic", Method: "POST", URL: "/api/v1/consent", Body: `{"profile_id":1,"channel":"email","topic":"lottery","granted":true}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: `unknown topic "lottery"`},
		{Name: "consent on a webhook", Method: "POST", URL: "/api/v1/consent", Body: `{"profile_id":1,"channel":"webhook","granted":true}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: "consent is for email, sms, push"},
		{Name: "receipt without status", Method: "POST", URL: "/api/v1/receipts/twilio", Body: `{"provider_id":"SM1"}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: "needs provider, provider_id and status"},
		{Name: "message not found", Method: "GET", URL: "/api/v1/messages/999", Body: ``, Admin: true, ExpectedStatus: 404, ExpectedMessage: "no message 999"},
	})
	// The public routes need no admin key but a valid token.
	for _, path := range []string{"/u/forged.token", "/t/c/forged.token", "/c/forged.token"} {
		if r, err := h.client.Get(h.http.URL + path); err != nil || r.StatusCode != 404 && path != "/c/forged.token" {
			t.Fatalf("GET %s: %v %v", path, r, err)
		}
	}
	if r, err := h.client.PostForm(h.http.URL+"/c/forged.token", nil); err != nil || r.StatusCode != 404 {
		t.Fatalf("POST /c/forged: %v %v", r, err)
	}
}
