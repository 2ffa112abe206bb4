package whatsapp_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/whatsapp"
)

func metaPost(body []byte, secret provider.Secret) *http.Request {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write(body)
	r := httptest.NewRequest(http.MethodPost, "/hooks/whatsapp/wa", bytes.NewReader(body))
	r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(h.Sum(nil)))
	return r
}

// FuzzParseWebhook: a body signed as Meta signs it is never refused as
// forged and reads as DecodeWebhook reads it; altered in any byte, or
// signed with another app secret, it is always refused; every receipt
// names the message it is about.
func FuzzParseWebhook(f *testing.F) {
	const appSecret provider.Secret = "app-secret-xyz"
	f.Add([]byte(statusPayload), 10, byte(1))
	// https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"0","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"16505551111","phone_number_id":"123456123"},"contacts":[{"profile":{"name":"test user name"},"wa_id":"16315551181"}],"messages":[{"from":"16315551181","id":"ABGGFlA5Fpa","timestamp":"1504902988","type":"text","text":{"body":"this is a text message"}}]}}]}]}`), 0, byte(2))
	f.Add([]byte(`{"entry":[{"changes":[{"value":{"statuses":[{"status":"delivered","timestamp":"99999999999999"}]}}]}]}`), 3, byte(0x80))
	f.Add([]byte(`{"entry":[{"changes":[{"value":{"messages":[{"type":"image","image":{"id":"1"}}]}}]}]}`), 3, byte(4))
	f.Add([]byte(`{"entry":[{"changes":[{"value":{"messages":[{"from":"1","id":"w","timestamp":"1","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"survey:9","title":"9"}}}]}}]}]}`), 40, byte(8))
	f.Add([]byte(`{"entry":[{"changes":[{"value":{"messages":[{"from":"1","id":"w","timestamp":"1","type":"button","button":{"payload":"survey:1","text":"Non"}}]}}]}]}`), 50, byte(16))
	f.Fuzz(func(t *testing.T, body []byte, at int, b byte) {
		n, err := whatsapp.ParseWebhook(metaPost(body, appSecret), appSecret, "wa")
		if errors.Is(err, whatsapp.ErrBadSignature) {
			t.Fatalf("%q signed with the app secret refused as forged", body)
		}
		want, werr := whatsapp.DecodeWebhook(body, "wa")
		if (err == nil) != (werr == nil) || !reflect.DeepEqual(n, want) {
			t.Fatalf("%q: ParseWebhook %+v, %v; DecodeWebhook %+v, %v", body, n, err, want, werr)
		}
		for _, rc := range n.Receipts {
			if rc.ProviderID == "" || rc.Provider != "wa" || rc.Status == "" || rc.Address == "+" ||
				!rc.At.IsZero() && (rc.At.Year() < 1 || rc.At.Year() > 9999) {
				t.Fatalf("%q: receipt %+v", body, rc)
			}
		}
		if _, err := whatsapp.ParseWebhook(metaPost(body, appSecret+"x"), appSecret, "wa"); !errors.Is(err, whatsapp.ErrBadSignature) {
			t.Fatalf("%q signed with another secret: %v", body, err)
		}
		if len(body) > 0 {
			altered := bytes.Clone(body)
			altered[max(at, 0)%len(altered)] ^= b | 1
			r := httptest.NewRequest(http.MethodPost, "/hooks/whatsapp/wa", bytes.NewReader(altered))
			r.Header.Set("X-Hub-Signature-256", metaPost(body, appSecret).Header.Get("X-Hub-Signature-256"))
			if _, err := whatsapp.ParseWebhook(r, appSecret, "wa"); !errors.Is(err, whatsapp.ErrBadSignature) {
				t.Fatalf("%q altered into %q after signing: %v", body, altered, err)
			}
		}
	})
}

// FuzzVerifySubscription: Meta's handshake echoes the challenge only for
// hub.mode=subscribe with the configured verify token; without a
// configured token it never succeeds.
func FuzzVerifySubscription(f *testing.F) {
	// https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
	f.Add("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock", "meatyhamhock")
	f.Add("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=", "")
	f.Add("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=t", "t")
	f.Fuzz(func(t *testing.T, query, token string) {
		q, _ := url.ParseQuery(query)
		challenge, err := whatsapp.VerifySubscription(q, provider.Secret(token))
		ok := q.Get("hub.mode") == "subscribe" && token != "" && q.Get("hub.verify_token") == token
		if (err == nil) != ok || (ok && challenge != q.Get("hub.challenge")) {
			t.Fatalf("%q with token %q: challenge %q, %v", query, token, challenge, err)
		}
	})
}
