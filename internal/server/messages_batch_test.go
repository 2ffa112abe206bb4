package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
)

// TestMessagesBatchAPI sends a batch through POST /api/v1/messages/batch:
// each message gets its own result (accepted and queued, accepted and
// skipped for want of consent, refused for an unknown customer or a
// missing key), the batch's template applies to the messages that name
// none, the same batch again changes nothing, and the accepted emails
// arrive once.
func TestMessagesBatchAPI(t *testing.T) {
	email := messagetest.NewRecorder("test-email", provider.Email)
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.Email: {Provider: email}}
		o.Messages = message.Options{BaseURL: "https://crm.example", Secret: []byte("s"), Poll: 20 * time.Millisecond}
	})
	body := `{"batch":[
		{"type":"identify","userId":"ana","traits":{"email":"ana@example.fr","first_name":"Ana","email_opt_in":true}},
		{"type":"identify","userId":"bob","traits":{"email":"bob@example.fr","first_name":"Bob","email_opt_in":true}},
		{"type":"identify","userId":"cyd","traits":{"email":"cyd@example.fr","first_name":"Cyd"}}]}`
	if code, resp := h.ingest("/v1/batch", body); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	h.waitConsumer(message.Consumer)
	if code, resp := h.adminJSON("POST", "/api/v1/templates", `{"id":"promo","topic":"offers","body":{
		"email":{"subject":"{{ profile.first_name }}, -20 %","html":"<p>Bonjour {{ profile.first_name }}</p>"}}}`); code != 201 {
		t.Fatalf("template: %d %v", code, resp)
	}
	batch := `{"channel":"email","template_id":"promo","messages":[
		{"identifier":"user_id:ana","idempotency_key":"b-ana"},
		{"identifier":"user_id:bob","idempotency_key":"b-bob","content":{"email":{"subject":"Pour Bob","html":"<p>Bonjour</p>"}}},
		{"identifier":"user_id:cyd","idempotency_key":"b-cyd"},
		{"identifier":"user_id:nobody","idempotency_key":"b-nobody"},
		{"identifier":"user_id:ana"}]}`
	code, resp := h.adminJSON("POST", "/api/v1/messages/batch", batch)
	results, _ := resp["results"].([]any)
	if code != 200 || len(results) != 5 || resp["accepted"] != 3.0 || resp["refused"] != 2.0 {
		t.Fatalf("batch: %d %v", code, resp)
	}
	result := func(i int) (float64, map[string]any, map[string]any) {
		r := results[i].(map[string]any)
		m, _ := r["message"].(map[string]any)
		e, _ := r["error"].(map[string]any)
		return r["status"].(float64), m, e
	}
	if s, m, _ := result(0); s != 202 || m["status"] != "queued" || m["template_id"] != "promo" {
		t.Fatalf("ana: %v", results[0])
	}
	if s, m, _ := result(1); s != 202 || m["template_id"] != nil {
		t.Fatalf("bob, own content: %v", results[1])
	}
	if s, m, _ := result(2); s != 202 || m["status"] != "skipped" || !strings.Contains(m["reason"].(string), "no email marketing consent") {
		t.Fatalf("cyd, not opted in: %v", results[2])
	}
	if s, _, e := result(3); s != 400 || !strings.Contains(e["message"].(string), "messages[3]") ||
		!strings.Contains(fmt.Sprint(e), "no profile holds user_id:nobody") {
		t.Fatalf("unknown customer: %v", results[3])
	}
	if s, _, e := result(4); s != 400 || !strings.Contains(e["message"].(string), "idempotency key is needed") {
		t.Fatalf("no key: %v", results[4])
	}
	_, ana, _ := result(0)
	h.waitMessage(ana["id"].(float64), "sent")
	// The same batch again: the same messages, nothing sent twice.
	_, again := h.adminJSON("POST", "/api/v1/messages/batch", batch)
	if m := again["results"].([]any)[0].(map[string]any)["message"].(map[string]any); m["id"] != ana["id"] {
		t.Fatalf("the same key made another message: %v", m)
	}
	_, bob, _ := result(1)
	h.waitMessage(bob["id"].(float64), "sent")
	time.Sleep(100 * time.Millisecond)
	if got := len(email.Sent()); got != 2 {
		t.Fatalf("%d emails sent, want 2 (ana and bob, once each)", got)
	}
	if s := email.Sent()[0].Subject + " / " + email.Sent()[1].Subject; !strings.Contains(s, "Ana, -20 %") || !strings.Contains(s, "Pour Bob") {
		t.Fatalf("subjects: %s", s)
	}

	many := `{"channel":"email","template_id":"promo","messages":[` + strings.Repeat(`{"profile_id":1,"idempotency_key":"x"},`, message.MaxBatch) + `{"profile_id":1,"idempotency_key":"y"}]}`
	runScenarios(t, h, []apiScenario{
		{Name: "empty batch", Method: "POST", URL: "/api/v1/messages/batch", Body: `{"messages":[]}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: "give at least one message"},
		{Name: "too many", Method: "POST", URL: "/api/v1/messages/batch", Body: many, Admin: true, ExpectedStatus: 400, ExpectedMessage: "at most 1000 in one batch"},
		{Name: "a key for the whole batch", Method: "POST", URL: "/api/v1/messages/batch", Body: `{"idempotency_key":"k","messages":[{"profile_id":1,"idempotency_key":"z"}]}`, Admin: true, ExpectedStatus: 400, ExpectedMessage: "belong to each message"},
		{Name: "without the admin key", Method: "POST", URL: "/api/v1/messages/batch", Body: `{"messages":[{"profile_id":1,"idempotency_key":"z"}]}`, ExpectedStatus: 401},
	})
}
