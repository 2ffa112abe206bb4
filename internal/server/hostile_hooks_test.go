package server_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/webhook"
)

// TestHostileProviderCallbacks throws hostile input at the providers'
// callbacks (/hooks/{type}/{name}...), on both engines: unknown and
// mismatched providers, missing, forged, replayed and misplaced
// signatures, signed bodies that are not JSON, too large, too deep, cut
// short, with NUL bytes or unknown statuses, wrong methods. A callback
// that does not authenticate is a 403 saying why and records nothing; a
// signed one that cannot be read is refused saying what; none is a 5xx,
// which would make the provider retry it for ever (issue 14.9).
func TestHostileProviderCallbacks(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		signed := func(body string, at time.Time) map[string]string {
			return map[string]string{webhook.SignatureHeader: webhook.Sign("crm-secret", at, []byte(body)), "Content-Type": "application/json"}
		}
		receipt := func(id, status string) string {
			return `{"provider_id":"` + id + `","status":"` + status + `","at":"2026-11-23T10:00:00Z"}`
		}
		good := receipt("never-sent", "delivered")
		nowAt := h.clock.Now()
		form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		rows := []hostile{
			{name: "unknown provider", method: "POST", path: "/hooks/webhook/nobody/receipts", header: signed(good, nowAt), body: []byte(good),
				status: 404, code: "not_found", says: []string{"nobody"}},
			{name: "provider of another type", method: "POST", path: "/hooks/twilio/crm/status", header: form, body: []byte("MessageSid=SM1&MessageStatus=delivered"),
				status: 404, code: "not_found", says: []string{"crm"}},
			{name: "no signature", method: "POST", path: "/hooks/webhook/crm/receipts", body: []byte(good),
				status: 403, code: "forbidden", says: []string{"callback refused", "no Parcours-Signature header"}},
			{name: "forged signature", method: "POST", path: "/hooks/webhook/crm/receipts", body: []byte(good),
				header: map[string]string{webhook.SignatureHeader: "t=" + itoa(nowAt.Unix()) + ",v1=" + strings.Repeat("0", 64)},
				status: 403, code: "forbidden", says: []string{"callback refused", "signature"}},
			{name: "replayed an hour later", method: "POST", path: "/hooks/webhook/crm/receipts", header: signed(good, nowAt.Add(-time.Hour)), body: []byte(good),
				status: 403, code: "forbidden", says: []string{"callback refused", "tolerance"}},
			{name: "signature of another body", method: "POST", path: "/hooks/webhook/crm/receipts", header: signed(receipt("other", "delivered"), nowAt), body: []byte(good),
				status: 403, code: "forbidden", says: []string{"callback refused", "signature"}},
			{name: "signed garbage", method: "POST", path: "/hooks/webhook/crm/receipts", header: signed("{not json", nowAt), body: []byte("{not json"),
				status: 403, code: "forbidden", says: []string{"callback refused", "decode"}},
			{name: "signed, 5,000 levels deep", method: "POST", path: "/hooks/webhook/crm/receipts", header: signed(`{"x":`+nest(5000)+`}`, nowAt), body: []byte(`{"x":` + nest(5000) + `}`),
				status: 403, code: "forbidden", says: []string{"callback refused", "provider_id is required"}},
			{name: "signed, over 16 KiB", method: "POST", path: "/hooks/webhook/crm/receipts", body: []byte(receipt(strings.Repeat("x", 20000), "delivered")),
				header: signed(receipt(strings.Repeat("x", 20000), "delivered"), nowAt),
				status: 403, code: "forbidden", says: []string{"callback refused", "16384 bytes"}},
			{name: "signed, unknown status", method: "POST", path: "/hooks/webhook/crm/receipts", header: signed(receipt("m1", "exploded"), nowAt), body: []byte(receipt("m1", "exploded")),
				status: 403, code: "forbidden", says: []string{"callback refused", `"exploded"`}},
			{name: "signed, NUL in the provider id", method: "POST", path: "/hooks/webhook/crm/receipts", header: signed(receipt(`a\u0000b`, "delivered"), nowAt), body: []byte(receipt(`a\u0000b`, "delivered")),
				status: 200},
			{name: "signed, cut short on the wire", method: "POST", path: "/hooks/webhook/crm/receipts", header: signed(good, nowAt), body: []byte(good[:20]), truncated: len(good) - 20,
				status: 403, code: "forbidden", says: []string{"callback refused"}},
			{name: "GET on a POST callback", method: "GET", path: "/hooks/webhook/crm/receipts",
				status: 405, code: "method_not_allowed", says: []string{"GET /hooks/webhook/crm/receipts", "answers POST"}},
			{name: "twilio without its signature", method: "POST", path: "/hooks/twilio/tw/status", header: form, body: []byte("MessageSid=SM1&MessageStatus=delivered"),
				status: 403, code: "forbidden", says: []string{"callback refused", "signature does not match"}},
			{name: "twilio forged signature", method: "POST", path: "/hooks/twilio/tw/inbound", header: map[string]string{"Content-Type": form["Content-Type"], "X-Twilio-Signature": "Zm9yZ2Vk"},
				body: []byte("From=%2B33600000000&Body=STOP&MessageSid=SM2"), status: 403, code: "forbidden", says: []string{"callback refused", "signature"}},
			{name: "vonage with a forged key", method: "GET", path: "/hooks/vonage/vg/dlr?api-key=nope&messageId=m1&status=delivered",
				status: 403, code: "forbidden", says: []string{"callback refused", "api-key"}},
			{name: "vonage NUL in the message id", method: "GET", path: "/hooks/vonage/vg/dlr?api-key=key&messageId=a%00b&status=delivered",
				status: 200},
			{name: "vonage inbound STOP from a number with NUL", method: "GET", path: "/hooks/vonage/vg/inbound?api-key=key&messageId=i1&msisdn=336%00&text=STOP",
				status: 200},
			{name: "vonage inbound with invalid UTF-8", method: "GET", path: "/hooks/vonage/vg/inbound?api-key=key&messageId=i2&msisdn=%ff%fe&text=%ff",
				status: 200},
			{name: "whatsapp verification with a forged token", method: "GET", path: "/hooks/whatsapp/wa?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=42",
				status: 403, code: "forbidden", says: []string{"callback refused", "verify"}},
			{name: "whatsapp without its signature", method: "POST", path: "/hooks/whatsapp/wa", header: map[string]string{"Content-Type": "application/json"}, body: []byte(`{"entry":[]}`),
				status: 403, code: "forbidden", says: []string{"callback refused", "X-Hub-Signature-256"}},
			// Good beside the bad: a signed receipt is taken.
			{name: "signed receipt", method: "POST", path: "/hooks/webhook/crm/receipts", header: signed(good, nowAt), body: []byte(good), status: 200},
		}
		h.runHostile(t, nil, rows)
	}, withProviders(t, `
  - name: vg
    type: vonage
    settings: {api_key: key, api_secret: s, from: Boutique}
  - name: crm
    type: webhook
    settings: {url: "https://crm.example/hook", secret: crm-secret}
  - name: tw
    type: twilio
    settings: {account_sid: AC1, auth_token: tok, from: "+33700000000"}
  - name: wa
    type: whatsapp
    settings: {phone_number_id: "1", access_token: t, app_secret: app, verify_token: v}`))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
