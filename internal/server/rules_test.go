package server_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/server"
)

// TestAPILooksUpWithTheConfiguredRules: the API normalises the
// identifiers it is asked for with the identity rules the stages resolve
// with (it used to take the defaults): a national phone number is read in
// the configured region on the way in and on the way out.
func TestAPILooksUpWithTheConfiguredRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte("default_region: BE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := identity.LoadRules(path)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *server.Options) { o.Rules = rules })
	if code, resp := h.ingest("/v1/identify", `{"userId":"lena","traits":{"phone":"0470 12 34 56"}}`); code != 200 {
		t.Fatalf("%d %v", code, resp)
	}
	h.waitUnify()
	code, p := h.api("/api/v1/profiles?phone=0470123456")
	if code != 200 {
		t.Fatalf("look up the phone as given: %d %v", code, p)
	}
	if code, p := h.api("/api/v1/profiles?phone=%2B32470123456"); code != 200 {
		t.Fatalf("look up the phone in its international form: %d %v", code, p)
	}
}
