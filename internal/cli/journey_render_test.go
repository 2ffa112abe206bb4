package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestJourneyTestRendersTemplates: parcours journey test --templates DIR
// renders every send as serve would and shows the text; the message
// policy file is read as serve reads it.
func TestJourneyTestRendersTemplates(t *testing.T) {
	j, sc := "../../examples/journeys/browse-abandonment.yaml", "../../examples/journeys/scenarios/browse-abandonment.yaml"
	code, out, errOut := run(t, "journey", "test", "--templates", "../journey/sim/testdata/templates", "--public-url", "https://crm.shop.example", j, sc)
	rendered := regexp.MustCompile(`\n    │ , vos \S+ vous attendent chez [^\n]+ \(\d+ en stock\)\. STOP au 36111\n`)
	if code != 0 || !rendered.MatchString(out) || !strings.Contains(out, "✉ email browse-reminder-email → bruno@example.fr") || !strings.Contains(out, "PASS: 6 of 6") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	policy := filepath.Join(t.TempDir(), "policy.yaml")
	os.WriteFile(policy, []byte("caps: [{channel: sms, max: 0, per: 1h}]\n"), 0o600)
	if code, _, errOut := run(t, "journey", "test", "--message-policy", policy, j, sc); code != 1 || !strings.Contains(errOut, "caps[0]: max and per must be positive") {
		t.Fatalf("a bad policy file: exit %d, %s", code, errOut)
	}
}
