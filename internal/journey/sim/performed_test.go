package sim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/journey/sim"
)

// A branch on what the customer did since they entered: an order before
// entry does not count, one after does, and count bounds the events.
const performedFile = `
kind: journey
id: browse
name: Browse follow-up
triggers: [{event: Product Viewed}]
steps:
  - wait: {for: 1d}
  - branch:
      cases:
        - when: {performed: {event: Order Completed, where: {currency: EUR}}}
          steps: [{exit: {reason: bought since entry}}]
        - when: {performed: {event: Product Viewed, count: {gte: 3}}}
          steps: [{send: {channel: email, template: keen-browser}}]
      else:
        - send: {channel: email, template: browse-reminder}
`

const performedScenario = `
name: bought before entry, bought after, browsed a lot
steps:
  - {at: "+0", user: lina, event: Order Completed, properties: {currency: EUR}}
  - {at: "+1m", user: lina, event: Product Viewed}
  - {at: "+2m", user: max, event: Product Viewed}
  - {at: "+3m", user: noa, event: Product Viewed}
  - {at: "+2h", user: max, event: Order Completed, properties: {currency: EUR}}
  - {at: "+3h", user: noa, event: Product Viewed}
  - {at: "+4h", user: noa, event: Product Viewed}
  - {at: "+5h", user: noa, event: Order Completed, properties: {currency: USD}}
expect:
  - {at: "+1d00h01m", user: lina, send: {template: browse-reminder}}
  - {user: max, no_send: {}}
  - {user: max, ends: exited}
  - {at: "+1d00h03m", user: noa, send: {template: keen-browser}}
`

func TestBranchOnEventsSinceEntry(t *testing.T) {
	files, err := sim.ParseJourneyFile("browse.yaml", []byte(performedFile))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sim.ParseScenario("browse-scenario.yaml", strings.NewReader(performedScenario))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(context.Background(), files, sc)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	res.Print(&out)
	if !res.Passed {
		t.Fatalf("expectations failed:\n%s", out.String())
	}
}
