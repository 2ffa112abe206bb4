package providers_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providers"
)

// testEnv holds distinctive secret values; the leak test looks for each.
func testEnv(t testing.TB) map[string]string {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	rsaPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ = x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "shop-prod", "private_key_id": "k1",
		"private_key": rsaPEM, "client_email": "fcm@shop-prod.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token"})
	return map[string]string{
		"SMTP_PASSWORD": "smtp-S3CRET-pw-1", "DKIM_PRIVATE_KEY": rsaPEM, "TWILIO_AUTH_TOKEN": "twilio-S3CRET-tok-2",
		"VONAGE_API_SECRET": "vonage-S3CRET-3", "WHATSAPP_TOKEN": "EAAG-S3CRET-wa-4", "WHATSAPP_APP_SECRET": "wa-app-S3CRET-5",
		"WHATSAPP_VERIFY_TOKEN": "wa-verify-S3CRET-6", "FCM_SERVICE_ACCOUNT": string(sa), "APNS_KEY": ecPEM,
		"CRM_WEBHOOK_SECRET": "crm-S3CRET-7",
	}
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestParseAndBuildExample(t *testing.T) {
	data, err := os.ReadFile("testdata/providers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t)
	cfg, err := providers.Parse(data, "providers.yaml", lookup(env))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Providers) != 7 {
		t.Fatalf("%d providers", len(cfg.Providers))
	}
	tw := cfg.Providers[1]
	if tw.Name != "twilio-fr" || tw.Channel != provider.SMS || tw.RatePerSecond != 30 || tw.Line != 20 {
		t.Errorf("entry %+v", tw)
	}
	if s := tw.Settings.(*providers.TwilioSettings); s.AuthToken.Reveal() != env["TWILIO_AUTH_TOKEN"] {
		t.Errorf("auth_token not expanded")
	}
	built, err := providers.BuildAll(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range cfg.Providers {
		p := built[e.Name]
		if p == nil || p.Name() != e.Name || p.Channel() != e.Channel {
			t.Errorf("%s: built %v", e.Name, p)
		}
		p.Close()
	}
}

func TestParseErrorsArePrecise(t *testing.T) {
	env := map[string]string{"TOKEN": "x"}
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown type", "providers:\n  - name: a\n    type: telegram\n    settings: {}\n", `f.yaml:2: provider "a": type: "telegram" is not one of`},
		{"missing field", "providers:\n  - name: tw\n    type: twilio\n    settings:\n      auth_token: ${TOKEN}\n      from: \"+33700000000\"\n", `f.yaml:5: provider "tw": settings.account_sid: required`},
		{"typo", "providers:\n  - name: tw\n    type: twilio\n    settings:\n      acount_sid: AC1\n", `f.yaml:5: provider "tw": settings.acount_sid: unknown setting`},
		{"missing env", "providers:\n  - name: hook\n    type: webhook\n    settings:\n      url: https://x.example/h\n      secret: ${HOOK_SECRET}\n", `f.yaml:5: provider "hook": settings.secret: environment variable ${HOOK_SECRET} is not set`},
		{"channel", "providers:\n  - name: tw\n    type: twilio\n    channel: email\n    settings: {}\n", `provider "tw": channel: type twilio serves channel sms, not email`},
		{"bad url", "providers:\n  - name: hook\n    type: webhook\n    settings:\n      url: ftp://x\n      secret: s\n", `provider "hook": settings.url: "ftp://x" is not an absolute http(s) URL`},
		{"duplicate", "providers:\n  - name: h\n    type: webhook\n    settings: {url: 'https://a.example', secret: s}\n  - name: h\n    type: webhook\n    settings: {url: 'https://a.example', secret: s}\n", `f.yaml:5: provider "h": name: duplicate: already used at line 2`},
		{"no name", "providers:\n  - type: webhook\n", `f.yaml:2: provider #1: name: required`},
		{"alternatives", "providers:\n  - name: f\n    type: fcm\n    settings: {project_id: p}\n", `provider "f": settings.service_account_file: set exactly one of`},
		{"dkim", "providers:\n  - name: m\n    type: smtp\n    settings: {host: h, from: a@b.c, dkim: {domain: b.c}}\n", `provider "m": settings.dkim.selector: required`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := providers.Parse([]byte(tc.yaml), "f.yaml", lookup(env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v\nwant it to contain %s", err, tc.want)
			}
			var fe *providers.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FieldError", err)
			}
		})
	}
}

func TestJSONConfig(t *testing.T) {
	js := `{"providers":[{"name":"hook","type":"webhook","channel":"sms","rate_per_second":5,"settings":{"url":"https://x.example/h","secret":"${S}"}}]}`
	cfg, err := providers.Parse([]byte(js), "p.json", lookup(map[string]string{"S": "v"}))
	if err != nil || cfg.Providers[0].Channel != provider.SMS {
		t.Fatalf("%+v %v", cfg, err)
	}
}
