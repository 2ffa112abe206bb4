package server_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestSDKSettings: what the browser SDKs fetch before sending, over
// plain HTTP (the browser tests drive them for real): Segment's settings
// point the SDK back at the host it reached, RudderStack's source config
// is the source, unknown and disabled keys are refused as on ingestion,
// the preflight allows the headers asked for, and a beacon's batch takes
// its write key from the query.
func TestSDKSettings(t *testing.T) {
	h := newHarness(t)
	code, _, seg := h.do("GET", "/v1/projects/"+h.src.WriteKey+"/settings", nil, map[string]string{"Origin": "http://shop.example"})
	if code != 200 {
		t.Fatalf("settings: %d %v", code, seg)
	}
	sio := seg["integrations"].(map[string]any)["Segment.io"].(map[string]any)
	host := strings.TrimPrefix(h.http.URL, "http://")
	if sio["apiKey"] != h.src.WriteKey || sio["apiHost"] != host+"/v1" || sio["protocol"] != "http" {
		t.Errorf("Segment.io settings: %v; want apiHost %s/v1", sio, host)
	}
	if code, _, _ := h.do("GET", "/v1/projects/wk_nope/settings", nil, nil); code != 401 {
		t.Errorf("settings of an unknown key: %d, want 401", code)
	}

	code, _, rs := h.do("GET", "/sourceConfig/?p=npm&v=3.34.1&writeKey="+h.src.WriteKey, nil, nil)
	if code != 200 {
		t.Fatalf("sourceConfig: %d %v", code, rs)
	}
	src := rs["source"].(map[string]any)
	if src["id"] != h.src.ID || src["enabled"] != true || src["writeKey"] != h.src.WriteKey {
		t.Errorf("source config: %v", src)
	}
	if code, _, _ := h.do("GET", "/sourceConfig/", nil, map[string]string{"Authorization": basic(h.src.WriteKey + ":")}); code != 200 {
		t.Errorf("sourceConfig with the key in Basic auth: %d", code)
	}
	if code, _, _ := h.do("GET", "/sourceConfig/", nil, nil); code != 401 {
		t.Errorf("sourceConfig without a key: %d, want 401", code)
	}
	if code, _, _ := h.do("POST", "/sourceConfig/?writeKey="+h.src.WriteKey, nil, nil); code != 405 {
		t.Errorf("POST sourceConfig: %d, want 405", code)
	}

	// The preflight of RudderStack's XHR: its AnonymousId header allowed.
	req, _ := http.NewRequest("OPTIONS", h.http.URL+"/v1/track", nil)
	req.Header.Set("Origin", "http://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,anonymousid")
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "http://shop.example" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "authorization,content-type,anonymousid" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	req, _ = http.NewRequest("OPTIONS", h.http.URL+"/sourceConfig/", nil)
	req.Header.Set("Origin", "http://shop.example")
	req.Header.Set("Access-Control-Request-Headers", "authorization")
	if resp, err = h.client.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Headers") != "authorization" {
		t.Errorf("sourceConfig preflight: %d %v", resp.StatusCode, resp.Header)
	}

	// sendBeacon: text/plain, the key in the query.
	body := `{"batch":[{"type":"track","event":"Checkout Started","anonymousId":"a-1","messageId":"b-1"}],"sentAt":"2026-11-23T10:00:00.000Z"}`
	code, out := h.rawJSON("POST", "/beacon/v1/batch?writeKey="+h.src.WriteKey, body, map[string]string{"Content-Type": "text/plain;charset=UTF-8"})
	if code != 200 || out["stored"] != float64(1) {
		t.Errorf("beacon: %d %v", code, out)
	}
	if code, _ := h.rawJSON("POST", "/beacon/v1/batch?writeKey=wk_nope", body, nil); code != 401 {
		t.Errorf("beacon with an unknown key: %d, want 401", code)
	}
}

// rawJSON posts a body as it is and decodes the JSON answer.
func (h *harness) rawJSON(method, path, body string, header map[string]string) (int, map[string]any) {
	h.t.Helper()
	code, _, out := h.do(method, path, []byte(body), header)
	return code, out
}
