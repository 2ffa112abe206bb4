package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/server"
)

// TestTemplateThatPanickedTheEngine: "{{͠}}" (U+0360, found by FuzzCheck)
// used to panic the Liquid engine: the API dropped the connection and
// serve --templates died. It is now an ordinary invalid template, and the
// template files beside it are still imported.
func TestTemplateThatPanickedTheEngine(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"broken.json": `{"topic":"newsletter","body":{"sms":{"body":"{{\u0360}}"}}}`,
		"fine.json":   `{"topic":"newsletter","body":{"sms":{"body":"Bonjour {{ profile.first_name }}"}}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h := newHarness(t, func(o *server.Options) {
		o.Messages = message.Options{Secret: []byte("s")}
		o.TemplatesDir = dir
	})
	code, resp := h.adminJSON("POST", "/api/v1/templates", `{"id":"crash","topic":"newsletter","body":{"sms":{"body":"Hi\n{{\u0360}}"}}}`)
	errBody, _ := resp["error"].(map[string]any)
	if code != 400 || errBody == nil || !strings.Contains(errBody["message"].(string), "sms.body:2:3:") {
		t.Fatalf("POST /api/v1/templates: %d %v", code, resp)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, list := h.api("/api/v1/templates")
		got := 0
		for _, it := range list["templates"].([]any) {
			switch it.(map[string]any)["id"] {
			case "fine":
				got++
			case "broken":
				t.Fatalf("the broken template file was saved: %v", list)
			}
		}
		if got == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("template files not imported: %v", list)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
