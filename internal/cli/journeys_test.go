package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJourneyTestCommand(t *testing.T) {
	j, sc := "../../examples/journeys/abandoned-cart.yaml", "../../examples/journeys/scenarios/abandoned-cart.yaml"
	code, out, errOut := run(t, "journey", "test", j, sc)
	if code != 0 || !strings.Contains(out, "PASS: 12 of 12") || !strings.Contains(out, "✉ sms cart-reminder-sms") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "--json", "journey", "test", j, sc)
	var res struct {
		Passed bool `json:"passed"`
		Sends  []struct {
			At       string `json:"at"`
			Template string `json:"template"`
		} `json:"sends"`
	}
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || !res.Passed || len(res.Sends) != 4 || res.Sends[0].At != "+0d01h00m" {
		t.Fatalf("--json: exit %d, %v, %+v", code, err, res)
	}
	// A failing expectation fails the command and says what happened.
	b, _ := os.ReadFile(sc)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(string(b), `{at: "+1h", user: alice`, `{at: "+2h", user: alice`, 1)), 0o600)
	code, out, errOut = run(t, "journey", "test", j, bad)
	if code != 1 || !strings.Contains(out, "✗ alice receives email cart-reminder-offer at +0d02h00m — sent at +0d01h00m instead") ||
		!strings.Contains(errOut, "1 of 12 expectations failed") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestApplyReadsSegmentsAndJourneys(t *testing.T) {
	dir := t.TempDir()
	mixed := "kind: segment\nid: vip\nname: VIP\nwhere: {computed: order_count, gte: 3}\n---\n" +
		"kind: journey\nid: vip-welcome\nname: VIP welcome\ntriggers: [{segment_entered: vip}]\nsteps: [{send: {channel: email, template: vip}}]\n"
	os.WriteFile(filepath.Join(dir, "mixed.yaml"), []byte(mixed), 0o600)
	docs, err := readDocuments([]string{dir})
	if err != nil || len(docs) != 2 || docs[0].seg == nil || docs[1].jour == nil || docs[1].jour.Triggers[0].SegmentEntered != "vip" {
		t.Fatalf("%+v, %v", docs, err)
	}
	// Scenarios beside their journeys are skipped.
	os.WriteFile(filepath.Join(dir, "scenario.yaml"), []byte("kind: scenario\nname: x\n"), 0o600)
	if docs, err := readDocuments([]string{dir}); err != nil || len(docs) != 2 {
		t.Fatalf("with a scenario: %d documents, %v", len(docs), err)
	}
	if docs, err := readDocuments([]string{"../../examples/journeys"}); err != nil || len(docs) != 14 || docs[0].jour == nil {
		t.Fatalf("examples/journeys: %d documents, %v", len(docs), err)
	}
	os.WriteFile(filepath.Join(dir, "typo.yaml"), []byte("kind: journey\nid: x\nname: X\ntriggers: []\nstepz: []\n"), 0o600)
	if _, err := readDocuments([]string{dir}); err == nil || !strings.Contains(err.Error(), "line 5") {
		t.Fatalf("a typo: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "typo.yaml"), []byte("kind: campaign\n"), 0o600)
	if _, err := readDocuments([]string{dir}); err == nil || !strings.Contains(err.Error(), "kinds: template, survey, segment, journey") {
		t.Fatalf("an unknown kind: %v", err)
	}
}
