package providers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providers"
)

// TestSecretsNeverPrint configures every provider type with distinctive
// secrets, then logs, prints, JSON-encodes and fails with everything, and
// looks for each secret (and each line of the PEM keys) in the output.
func TestSecretsNeverPrint(t *testing.T) {
	env := testEnv(t)
	data, _ := os.ReadFile("testdata/providers.yaml")
	// Point the HTTP providers at a server that refuses everything.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"code":20003,"message":"Authenticate","error":{"code":190,"message":"Invalid OAuth access token"}}`))
	}))
	defer refuse.Close()
	yml := strings.ReplaceAll(string(data), "messaging_service_sid:", "base_url: "+refuse.URL+"\n      messaging_service_sid:")
	yml = strings.ReplaceAll(yml, "https://crm.shop.example/hooks/parcours", refuse.URL+"/hook")
	yml = strings.ReplaceAll(yml, "host: smtp.shop.example\n      port: 587", "host: 127.0.0.1\n      port: 1")
	yml = strings.ReplaceAll(yml, "api_key: a1b2c3d4", "api_key: a1b2c3d4\n      base_url: "+refuse.URL)
	yml = strings.ReplaceAll(yml, "access_token: ${WHATSAPP_TOKEN}", "access_token: ${WHATSAPP_TOKEN}\n      base_url: "+refuse.URL)

	var out bytes.Buffer
	logf := func(format string, a ...any) { fmt.Fprintf(&out, format+"\n", a...) }
	jsonLog := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	textLog := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))

	cfg, err := providers.Parse([]byte(yml), "providers.yaml", lookup(env))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(cfg)
	out.Write(b)
	logf("%v %+v %#v", cfg, cfg, cfg)
	built, err := providers.BuildAll(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cfg.Providers {
		jsonLog.Info("provider", "entry", e, "settings", e.Settings)
		textLog.Info("provider", "entry", e, "settings", e.Settings)
		logf("%v | %+v | %#v | %s", e.Settings, e.Settings, e.Settings, e.Settings)
		p := built[e.Name]
		logf("%v %+v", p, p)
		pj, _ := json.Marshal(p)
		out.Write(pj)
		_, err := p.Send(context.Background(), &provider.Message{Key: "k", To: "+33612345678", Body: "x", Subject: "s", Text: "t"})
		if err == nil && e.Type != "fcm" && e.Type != "apns" {
			t.Errorf("%s: send to a refusing server succeeded", e.Name)
		}
		logf("%v | %+v | %#v", err, err, err)
		jsonLog.Error("send failed", "provider", e.Name, "err", err)
		p.Close()
	}
	// Configuration errors next to secrets.
	_, err = providers.Parse([]byte(strings.ReplaceAll(yml, "topic: com.shop.app", "topic: com.shop.app\n      priority: 7")), "providers.yaml", lookup(env))
	logf("%v", err)

	dump := out.String()
	for name, secret := range env {
		for _, line := range strings.Split(secret, "\n") {
			if len(line) < 8 || strings.HasPrefix(line, "-----") {
				continue // PEM armour lines are not secret
			}
			if name == "FCM_SERVICE_ACCOUNT" {
				continue // checked through its private key below
			}
			if strings.Contains(dump, line) {
				i := strings.Index(dump, line)
				t.Errorf("secret %s leaked: %q found in the output: ...%s", name, line, dump[max(0, i-300):i+20])
			}
		}
	}
	var sa map[string]string
	json.Unmarshal([]byte(env["FCM_SERVICE_ACCOUNT"]), &sa)
	for _, line := range strings.Split(sa["private_key"], "\n") {
		if len(line) >= 8 && !strings.HasPrefix(line, "-----") && strings.Contains(dump, line) {
			i := strings.Index(dump, line)
			t.Errorf("service-account key leaked: ...%s", dump[max(0, i-300):i+10])
			break
		}
	}
	if !strings.Contains(dump, "[redacted]") {
		t.Error("no [redacted] marker: the test did not print the secrets' fields")
	}
}
