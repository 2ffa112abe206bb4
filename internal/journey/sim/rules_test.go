package sim_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/journey/sim"
	"github.com/parcours/parcours/internal/pipeline"
)

const rulesJourney = `
kind: journey
id: browse
name: Browse follow-up
triggers: [{event: Product Viewed}]
steps:
  - send: {channel: email, template: browse-reminder}
`

// TestSimulatorHonoursIdentityRules: the simulator resolves identities
// with the configured rules, as serve does (it used to take the defaults
// whatever the configuration said). A user id the rules call junk links
// no profile, so nobody enters the journey.
func TestSimulatorHonoursIdentityRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte("blocklist: [kiosk]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rules, err := identity.LoadRules(path)
	if err != nil {
		t.Fatal(err)
	}
	files, err := sim.ParseJourneyFile("browse.yaml", []byte(rulesJourney))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		rules *identity.Rules
		sent  int
	}{
		{"default rules: kiosk is a customer", nil, 1},
		{"kiosk blocklisted: nobody to enrol", rules, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc, err := sim.ParseScenario("s.yaml", strings.NewReader(`
name: a shared kiosk
steps:
  - {at: "+0", user: kiosk, event: Product Viewed}
`))
			if err != nil {
				t.Fatal(err)
			}
			res, err := sim.RunWith(context.Background(), files, sc, sim.Options{Config: pipeline.Config{Rules: c.rules}})
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			res.Print(&out)
			if got := strings.Count(out.String(), "browse-reminder"); got != c.sent {
				t.Fatalf("%d sends of browse-reminder, want %d:\n%s", got, c.sent, out.String())
			}
		})
	}
}
