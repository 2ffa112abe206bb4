package server_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
)

// TestHostilePublicPages throws hostile input, on both engines, at the
// pages customers reach from messages without a key (/t/c click, /t/o open pixel, /u
// preferences and one-click unsubscribe, /c double opt-in): forged,
// tampered, huge, NUL and traversal tokens, bad forms, oversized forms,
// wrong methods. A bad link is a 404 page saying so, never a 500 nor a
// change; the genuine link beside them still works (issue 14.9).
func TestHostilePublicPages(t *testing.T) {
	var log logSink
	var email *messagetest.Recorder
	onEngines(t, func(t *testing.T, h *harness, _ engine) { hostilePublic(t, h, &log, email) }, withLog(&log), func(o *server.Options) {
		email = messagetest.NewRecorder("test-email", provider.Email)
		o.Providers = message.ProviderSet{provider.Email: {Provider: email}}
		o.Messages = message.Options{BaseURL: "https://crm.example", Secret: []byte("s"), Poll: 20 * time.Millisecond}
	})
}

func hostilePublic(t *testing.T, h *harness, log *logSink, email *messagetest.Recorder) {
	if code, out := h.ingest("/v1/batch", `{"batch":[{"type":"identify","userId":"zoe","traits":{"email":"zoe@example.fr","email_opt_in":true}}]}`); code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	h.waitUnify()
	h.waitConsumer(message.Consumer)
	code, sent := h.adminJSON("POST", "/api/v1/messages", `{"identifier":"user_id:zoe","channel":"email","topic":"newsletter","idempotency_key":"n-1",
		"content":{"email":{"subject":"News","html":"<p><a href=\"https://shop.example/\">shop</a></p>"}}}`)
	if code != 202 {
		t.Fatalf("send: %d %v", code, sent)
	}
	h.waitMessage(sent["id"].(float64), "sent")
	mail := email.Sent()[0]
	unsub := strings.TrimPrefix(strings.Trim(strings.Split(mail.Headers["List-Unsubscribe"], ",")[0], "<>"), "https://crm.example")
	click := mail.HTML[strings.Index(mail.HTML, "https://crm.example/t/c/")+len("https://crm.example"):]
	click = click[:strings.IndexByte(click, '"')]
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	long := strings.Repeat("A", 100000)
	notValid := []string{"This link is not valid."}
	rows := []hostile{
		{name: "forged preferences token", method: "GET", path: "/u/forged.token", status: 404, says: notValid},
		{name: "tampered preferences token", method: "GET", path: unsub + "x", status: 404, says: notValid},
		{name: "100,000-byte token", method: "GET", path: "/u/" + long, status: 404, says: notValid},
		{name: "NUL in a token", method: "GET", path: "/u/a%00b.c", status: 404, says: notValid},
		{name: "invalid UTF-8 in a token", method: "GET", path: "/u/%ff%fe.%ff", status: 404, says: notValid},
		{name: "traversal in a token", method: "GET", path: "/u/..%2F..%2Fetc%2Fpasswd", status: 404, says: notValid},
		{name: "traversal out of /u", method: "GET", path: "/u/../../etc/passwd", status: 307, says: []string{`href="/etc/passwd"`}},
		{name: "forged one-click unsubscribe", method: "POST", path: "/u/forged.token", header: form, body: []byte("List-Unsubscribe=One-Click"), status: 404, says: notValid},
		{name: "a form that is not one", method: "POST", path: unsub, header: form, body: []byte("action=%zz"), status: 400, says: []string{"Bad form"}},
		{name: "a form over 64 KiB", method: "POST", path: unsub, header: form, body: []byte("action=save&topic=" + strings.Repeat("x", 100<<10)), status: 400, says: []string{"Bad form"}},
		{name: "NUL and unknown topics saved", method: "POST", path: unsub, header: form, body: []byte("action=save&all=on&topic=news%00letter&topic=" + url.QueryEscape(long[:1000]) + "&topic=newsletter"),
			status: 200, says: []string{"Vos préférences sont enregistrées."}},
		{name: "forged click", method: "GET", path: "/t/c/forged.token", status: 404, says: notValid},
		{name: "tampered click", method: "GET", path: click[:len(click)-2] + "xx", status: 404, says: notValid},
		{name: "forged open pixel is still a pixel", method: "GET", path: "/t/o/forged.gif", status: 200, says: []string{"GIF89a"}},
		{name: "100,000-byte open pixel", method: "GET", path: "/t/o/" + long + ".gif", status: 200, says: []string{"GIF89a"}},
		{name: "forged confirmation shows only a button", method: "GET", path: "/c/forged.token", status: 200, says: []string{"<form method=\"post\">"}},
		{name: "forged confirmation", method: "POST", path: "/c/forged.token", header: form, status: 404, says: notValid},
		{name: "PUT on a page", method: "PUT", path: unsub, status: 405, code: "method_not_allowed", says: []string{"answers GET, POST"}},
		{name: "DELETE on a click", method: "DELETE", path: click, status: 405, code: "method_not_allowed", says: []string{"answers GET"}},
		// Good beside the bad: the genuine links still work.
		{name: "genuine click", method: "GET", path: click, status: 302},
		{name: "genuine preferences", method: "GET", path: unsub, status: 200, says: []string{`name="topic" value="newsletter" checked`}},
	}
	h.runHostile(t, log, rows)
	// The only change the rows made is the genuine save: newsletter and
	// the channel granted, no topic named by a forged field.
	code, consent := h.api("/api/v1/profiles/1/consent")
	for _, rec := range consent["ledger"].([]any) {
		if topic, _ := rec.(map[string]any)["topic"].(string); strings.Contains(topic, "\x00") || len(topic) > 64 {
			t.Fatalf("a forged topic reached the ledger: %.80q", topic)
		}
	}
	if code != 200 {
		t.Fatalf("consent: %d %v", code, consent)
	}
	if strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("a hostile link logged an error:\n%s", log.String())
	}
}
