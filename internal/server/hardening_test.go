package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/httpapi"
)

// TestEveryAnswerCarriesSecurityHeaders: whatever the family (tracking,
// management, public pages, callbacks, health, unknown paths) and the
// status, an answer tells browsers not to sniff, frame or leak it.
func TestEveryAnswerCarriesSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	admin := map[string]string{"Authorization": "Bearer " + h.admin}
	for _, tc := range []struct {
		method, path string
		header       map[string]string
	}{
		{"POST", "/v1/track", map[string]string{"Authorization": basic(h.src.WriteKey + ":")}},
		{"GET", "/api/v1/sources", admin},
		{"GET", "/api/v1/sources", nil}, // 401
		{"GET", "/u/not-a-token", nil},
		{"POST", "/hooks/webhook/nobody/receipts", nil},
		{"GET", "/healthz", nil},
		{"GET", "/metrics", nil},
		{"GET", "/nowhere", nil},
	} {
		req, _ := http.NewRequest(tc.method, h.http.URL+tc.path, strings.NewReader(`{"type":"track","userId":"u","event":"E"}`))
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s %s (%d): %s = %q, want %q", tc.method, tc.path, resp.StatusCode, name, got, want)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s %s: Content-Security-Policy = %q", tc.method, tc.path, csp)
		}
	}
}

// TestBodiesAreBoundedOnEveryEndpoint: a body over httpapi.MaxBody is
// refused with 413 when its length is declared, and cut when it is not,
// on an endpoint whose handler sets no bound of its own; nothing is
// created either way.
func TestBodiesAreBoundedOnEveryEndpoint(t *testing.T) {
	h := newHarness(t)
	admin := map[string]string{"Authorization": "Bearer " + h.admin, "Content-Type": "application/json"}
	big := append([]byte(`{"id":"big","name":"`), bytes.Repeat([]byte("x"), httpapi.MaxBody+1)...)
	big = append(big, `"}`...)
	code, _, resp := h.do("PUT", "/api/v1/locations/big", big, admin)
	if code != http.StatusRequestEntityTooLarge || resp["error"].(map[string]any)["code"] != "too_large" {
		t.Fatalf("declared length over the bound: %d %v; want 413 too_large", code, resp)
	}
	// Without a declared length (chunked), the read stops at the bound.
	req, _ := http.NewRequest("PUT", h.http.URL+"/api/v1/locations/big", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	for k, v := range admin {
		req.Header.Set(k, v)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode < 400 || r.StatusCode >= 500 {
		t.Fatalf("chunked body over the bound: %d; want a 4xx", r.StatusCode)
	}
	if code, _, _ := h.do("GET", "/api/v1/locations/big", nil, admin); code != http.StatusNotFound {
		t.Fatalf("the location was created (%d)", code)
	}
}
