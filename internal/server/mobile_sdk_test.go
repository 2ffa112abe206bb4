package server_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/message/messagetest"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/server"
)

// The mobile SDKs' requests, as their public source writes them (the
// request each one's HTTP client builds, the batch its storage flushes,
// the context its device plugin fills), replayed against serve:
//
//   - Segment analytics-kotlin: POST {apiHost}/b, Content-Type text/plain,
//     the key as HTTP Basic user and in the body, sentAt, User-Agent
//     analytics-kotlin/VERSION.
//   - Segment analytics-swift: POST {apiHost}/b, Content-Type
//     application/json; charset=utf-8, Accept-Encoding gzip, User-Agent
//     analytics-ios/VERSION, the push token set by
//     registeredForRemoteNotifications in context.device.token.
//   - RudderStack Android: POST {dataPlaneUrl}/v1/batch, gzip
//     (Content-Encoding), AnonymousId header (base64), events with
//     originalTimestamp, channel "mobile", a Dalvik user agent and
//     context.device.token (setDeviceToken).
//   - RudderStack iOS: POST {dataPlaneUrl}/v1/batch, JSON, AnonymousId
//     header, context.device.type "iOS" and token.
//
// Each SDK retries a batch it got no answer for with the same message
// ids: the retry is answered 200 and stored nothing twice. The device
// token reaches the profile as a device_token identifier, and a push
// message to the customer goes to it.
type mobileRequest struct {
	sdk     string
	path    string
	gzip    bool
	header  map[string]string
	body    string
	user    string // the customer the batch is about
	token   string // the push token it carries
	batches int    // events in the batch
}

func mobileRequests(writeKey string) []mobileRequest {
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(writeKey+":"))
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	return []mobileRequest{
		{
			sdk: "analytics-kotlin", path: "/v1/b", user: "k-1", token: "fcm-kotlin-token:APA91bH", batches: 3,
			header: map[string]string{"Content-Type": "text/plain", "Authorization": auth, "User-Agent": "analytics-kotlin/1.19.1"},
			body: `{"batch":[
{"type":"screen","name":"Home","properties":{},"anonymousId":"6a7f1c9e-kotlin-anon","messageId":"kt-0001","timestamp":"2026-11-23T09:58:00.112Z","sentAt":"2026-11-23T09:59:58.000Z",
 "context":{"app":{"name":"Parcours Shop","version":"4.2.0","namespace":"com.shop.app","build":"420"},"device":{"id":"f1e2d3c4","manufacturer":"Google","model":"Pixel 8","name":"shiba","type":"android","token":"fcm-kotlin-token:APA91bH"},"library":{"name":"analytics-kotlin","version":"1.19.1"},"os":{"name":"Android","version":"14"},"screen":{"density":2.625,"height":2400,"width":1080},"network":{"wifi":true,"cellular":false,"bluetooth":false},"locale":"fr-FR","timezone":"Europe/Paris","userAgent":"Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UD1A.231105.004)","instanceId":"0c1d"},
 "integrations":{},"userId":"","_metadata":{"bundled":[],"unbundled":[],"bundledIds":[]}},
{"type":"track","event":"Product Viewed","properties":{"sku":"TRAIL-42","category":"Shoes","brand":"Nord"},"anonymousId":"6a7f1c9e-kotlin-anon","messageId":"kt-0002","timestamp":"2026-11-23T09:58:30.000Z",
 "context":{"app":{"name":"Parcours Shop","version":"4.2.0"},"device":{"id":"f1e2d3c4","manufacturer":"Google","model":"Pixel 8","type":"android","token":"fcm-kotlin-token:APA91bH"},"library":{"name":"analytics-kotlin","version":"1.19.1"},"os":{"name":"Android","version":"14"}},"integrations":{}},
{"type":"identify","userId":"k-1","traits":{"email":"kim@example.fr","pushOptIn":true},"anonymousId":"6a7f1c9e-kotlin-anon","messageId":"kt-0003","timestamp":"2026-11-23T09:59:00.000Z",
 "context":{"device":{"id":"f1e2d3c4","type":"android","token":"fcm-kotlin-token:APA91bH"},"library":{"name":"analytics-kotlin","version":"1.19.1"},"os":{"name":"Android","version":"14"}},"integrations":{}}
],"sentAt":"2026-11-23T09:59:58.000Z","writeKey":"` + writeKey + `"}`,
		},
		{
			sdk: "analytics-swift", path: "/v1/b", user: "s-1", token: "5f2a9c0b7e3d4a1f8b6c2e9d0a7f3b1c5e8d2a4f6b9c1e3d7a0f2b4c6e8d1a3f", batches: 3,
			header: map[string]string{"Content-Type": "application/json; charset=utf-8", "Authorization": auth, "Accept-Encoding": "gzip", "User-Agent": "analytics-ios/1.7.3"},
			body: `{"batch":[
{"type":"track","event":"Application Opened","properties":{"from_background":false,"version":"4.2.0","build":"420"},"anonymousId":"C0FFEE00-SWIFT-ANON","messageId":"B1E2C3D4-0001","timestamp":"2026-11-23T09:58:00.000Z",
 "context":{"app":{"name":"Parcours Shop","version":"4.2.0","build":"420","namespace":"com.shop.app"},"device":{"id":"A1B2C3D4-E5F6","manufacturer":"Apple","model":"iPhone15,2","name":"iPhone","type":"ios","token":"5f2a9c0b7e3d4a1f8b6c2e9d0a7f3b1c5e8d2a4f6b9c1e3d7a0f2b4c6e8d1a3f"},"library":{"name":"analytics-swift","version":"1.7.3"},"os":{"name":"iOS","version":"18.1"},"screen":{"width":393,"height":852},"network":{"wifi":true,"cellular":false},"locale":"fr-FR","timezone":"Europe/Paris","instanceId":"77AA"},
 "integrations":{}},
{"type":"screen","name":"Product","category":"Catalog","properties":{"sku":"TRAIL-42"},"anonymousId":"C0FFEE00-SWIFT-ANON","messageId":"B1E2C3D4-0002","timestamp":"2026-11-23T09:58:20.000Z",
 "context":{"device":{"type":"ios","token":"5f2a9c0b7e3d4a1f8b6c2e9d0a7f3b1c5e8d2a4f6b9c1e3d7a0f2b4c6e8d1a3f","model":"iPhone15,2"},"library":{"name":"analytics-swift","version":"1.7.3"},"os":{"name":"iOS","version":"18.1"}},"integrations":{}},
{"type":"identify","userId":"s-1","traits":{"email":"sam@example.fr","push_opt_in":true},"anonymousId":"C0FFEE00-SWIFT-ANON","messageId":"B1E2C3D4-0003","timestamp":"2026-11-23T09:59:00.000Z",
 "context":{"device":{"type":"ios","token":"5f2a9c0b7e3d4a1f8b6c2e9d0a7f3b1c5e8d2a4f6b9c1e3d7a0f2b4c6e8d1a3f"},"library":{"name":"analytics-swift","version":"1.7.3"},"os":{"name":"iOS","version":"18.1"}},"integrations":{}}
],"sentAt":"2026-11-23T09:59:58.500Z","writeKey":"` + writeKey + `"}`,
		},
		{
			sdk: "rudder-android", path: "/v1/batch", gzip: true, user: "ra-1", token: "fcm-rudder-token:APA91bR", batches: 2,
			header: map[string]string{"Content-Type": "application/json; charset=utf-8", "Authorization": auth, "AnonymousId": b64("8d4e0a52-rudder-anon")},
			body: `{"sentAt":"2026-11-23T09:59:58.123Z","batch":[
{"messageId":"1732355880000-1f2e3d4c","channel":"mobile","context":{"app":{"build":"420","name":"Parcours Shop","namespace":"com.shop.app","version":"4.2.0"},"traits":{"anonymousId":"8d4e0a52-rudder-anon"},"library":{"name":"com.rudderstack.android.sdk.core","version":"1.25.1"},"os":{"name":"Android","version":"14"},"screen":{"density":420,"width":1080,"height":2400},"userAgent":"Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UD1A.231105.004)","locale":"fr-FR","device":{"id":"9a8b7c6d","manufacturer":"Google","model":"Pixel 8","name":"shiba","type":"Android","token":"fcm-rudder-token:APA91bR","adTrackingEnabled":false},"network":{"carrier":"Orange F","wifi":true,"bluetooth":false,"cellular":true},"timezone":"Europe/Paris","sessionId":1732355800,"sessionStart":true},
 "type":"track","action":"","originalTimestamp":"2026-11-23T09:58:00.000Z","anonymousId":"8d4e0a52-rudder-anon","userId":"","event":"Product Viewed","properties":{"sku":"TRAIL-42","category":"Shoes"},"integrations":{"All":true}},
{"messageId":"1732355940000-2a3b4c5d","channel":"mobile","context":{"traits":{"anonymousId":"8d4e0a52-rudder-anon","userId":"ra-1","email":"rae@example.fr","pushOptIn":true},"library":{"name":"com.rudderstack.android.sdk.core","version":"1.25.1"},"os":{"name":"Android","version":"14"},"userAgent":"Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UD1A.231105.004)","device":{"id":"9a8b7c6d","type":"Android","token":"fcm-rudder-token:APA91bR"},"externalId":[]},
 "type":"identify","originalTimestamp":"2026-11-23T09:59:00.000Z","anonymousId":"8d4e0a52-rudder-anon","userId":"ra-1","traits":{"email":"rae@example.fr","pushOptIn":true},"integrations":{"All":true}}
]}`,
		},
		{
			sdk: "rudder-ios", path: "/v1/batch", user: "ri-1", token: "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c", batches: 2,
			header: map[string]string{"Content-Type": "application/json", "Authorization": auth, "AnonymousId": b64("E621E1F8-RUDDER-IOS")},
			body: `{"sentAt":"2026-11-23T09:59:58.900Z","batch":[
{"messageId":"1732355880-AAAA-0001","channel":"mobile","type":"screen","event":"Home","properties":{"name":"Home"},"anonymousId":"E621E1F8-RUDDER-IOS","originalTimestamp":"2026-11-23T09:58:00.000Z",
 "context":{"app":{"build":"420","name":"Parcours Shop","namespace":"com.shop.app","version":"4.2.0"},"device":{"id":"E621E1F8-C36C","manufacturer":"Apple","model":"iPhone","name":"Rae's iPhone","type":"iOS","token":"0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c","attTrackingStatus":0},"library":{"name":"rudder-ios-library","version":"1.30.0"},"os":{"name":"iOS","version":"18.1"},"screen":{"density":3,"width":393,"height":852},"locale":"fr-FR","network":{"wifi":true,"cellular":false,"carrier":"unavailable"},"timezone":"Europe/Paris","traits":{"anonymousId":"E621E1F8-RUDDER-IOS"}},"integrations":{"All":true}},
{"messageId":"1732355940-AAAA-0002","channel":"mobile","type":"identify","userId":"ri-1","anonymousId":"E621E1F8-RUDDER-IOS","originalTimestamp":"2026-11-23T09:59:00.000Z","traits":{"email":"ria@example.fr","push_opt_in":true},
 "context":{"device":{"type":"iOS","token":"0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"},"library":{"name":"rudder-ios-library","version":"1.30.0"},"os":{"name":"iOS","version":"18.1"},"traits":{"anonymousId":"E621E1F8-RUDDER-IOS","userId":"ri-1"}},"integrations":{"All":true}}
]}`,
		},
	}
}

// postMobile sends one captured request as the SDK does.
func (h *harness) postMobile(t *testing.T, r mobileRequest) (int, map[string]any) {
	t.Helper()
	body := []byte(r.body)
	if r.gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	req, err := http.NewRequest("POST", h.http.URL+r.path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func TestMobileSDKWireFormats(t *testing.T) {
	push := messagetest.NewRecorder("push-test", provider.Push)
	h := newHarness(t, func(o *server.Options) {
		o.Providers = message.ProviderSet{provider.Push: {Provider: push}}
		o.Messages.BaseURL = "https://shop.example"
	})
	// The Segment SDKs read their settings first, from their cdnHost.
	if code, _, s := h.do("GET", "/v1/projects/"+h.src.WriteKey+"/settings", nil, map[string]string{"User-Agent": "analytics-kotlin/1.19.1"}); code != 200 || s["integrations"] == nil {
		t.Fatalf("settings: %d %v", code, s)
	}
	// RudderStack's mobile SDKs read theirs from the control plane,
	// without the trailing slash.
	if code, _, s := h.do("GET", "/sourceConfig?p=android&v=1.25.1", nil, map[string]string{"Authorization": basic(h.src.WriteKey + ":")}); code != 200 || s["source"] == nil {
		t.Fatalf("sourceConfig: %d %v", code, s)
	}
	reqs := mobileRequests(h.src.WriteKey)
	for _, r := range reqs {
		code, out := h.postMobile(t, r)
		if code != 200 || out["stored"] != float64(r.batches) || out["rejected"] != nil {
			t.Fatalf("%s: %d %v, want %d stored", r.sdk, code, out, r.batches)
		}
		// No answer reached the app (a timeout): it sends the same batch
		// again, with the same message ids.
		code, out = h.postMobile(t, r)
		if code != 200 || out["stored"] != float64(0) || out["duplicates"] != float64(r.batches) {
			t.Fatalf("%s, sent again: %d %v, want %d duplicates", r.sdk, code, out, r.batches)
		}
	}
	h.waitUnify()
	for _, r := range reqs {
		id := h.profileOf(r.user)
		code, byToken := h.api("/api/v1/profiles?device_token=" + r.token)
		if code != 200 || int64(byToken["id"].(float64)) != id {
			t.Fatalf("%s: the device token's profile: %d %v, want profile %d", r.sdk, code, byToken, id)
		}
		if got := h.computed(r.user)["device_type"]; got != "mobile" {
			t.Errorf("%s: device_type %v, want mobile", r.sdk, got)
		}
		// The anonymous events before sign-in are on the customer's
		// profile.
		_, tl := h.api(fmt.Sprintf("/api/v1/profiles/%d/timeline", id))
		n := 0
		for _, e := range tl["events"].([]any) {
			if e.(map[string]any)["sourceId"] == h.src.ID {
				n++
			}
		}
		if n != r.batches {
			t.Errorf("%s: the timeline holds %d of the app's events, want %d: %v", r.sdk, n, r.batches, tl["events"])
		}
		// The push reaches the token.
		code, msg := h.adminJSON("POST", "/api/v1/messages", `{"identifier":"user_id:`+r.user+`","channel":"push","topic":"offers",
			"content":{"push":{"title":"Trail 42","body":"Back in stock in your size"}},"idempotency_key":"push-`+r.user+`"}`)
		if code != 202 {
			t.Fatalf("%s: push: %d %v", r.sdk, code, msg)
		}
		h.waitMessage(msg["id"].(float64), "sent")
	}
	sent := map[string]bool{}
	for _, m := range push.Sent() {
		sent[m.To] = true
	}
	for _, r := range reqs {
		if !sent[r.token] {
			t.Errorf("%s: no push went to its token %s (sent to %v)", r.sdk, r.token, sent)
		}
	}

	// What the apps are told when a batch is wrong stays precise: a
	// Segment batch with a bad key is 401 and says how to send the key.
	bad := reqs[0]
	bad.header = map[string]string{"Content-Type": "text/plain", "Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("wk_nope:"))}
	bad.body = strings.Replace(bad.body, h.src.WriteKey, "wk_nope", 1)
	if code, out := h.postMobile(t, bad); code != 401 {
		t.Errorf("a batch with an unknown key: %d %v, want 401", code, out)
	}
}
