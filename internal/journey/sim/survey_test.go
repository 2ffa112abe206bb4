package sim_test

import (
	"bytes"
	"regexp"
	"testing"
)

// TestSimulatorRendersSurveys: with templates and the scenario's surveys,
// a send step with a survey renders its invitation as it would live: the
// question in the SMS wording, how to reply, the signed link.
func TestSimulatorRendersSurveys(t *testing.T) {
	res := runFile(t, "testdata/csat-rendered.yaml", "")
	var out bytes.Buffer
	res.Print(&out)
	if !res.Passed || len(res.Sends) != 1 || res.Sends[0].Delivery == nil {
		t.Fatalf("expectations failed:\n%s", out.String())
	}
	body := res.Sends[0].Delivery.Body
	want := regexp.MustCompile(`^Parcours : De 1 à 5, êtes-vous satisfait\(e\) de notre réponse \? Répondez par un chiffre de 1 à 5\. https?://[^ ]+/s/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+ STOP au 36111$`)
	if !want.MatchString(body) {
		t.Fatalf("the invitation: %q", body)
	}
}
