package sim_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/journey/sim"
)

// A journey entered on a segment entry, branching on another segment,
// left when the customer leaves the first: the segment stage's events
// drive it through the whole pipeline.
const vipFile = `
kind: segment
id: big-basket
name: Basket over 100
where: {trait: basket_value, gte: 100}
---
kind: segment
id: loyal
name: Loyalty members
where: {trait: loyalty, equals: true}
---
kind: journey
id: big-basket
name: Big basket follow-up
triggers: [{segment_entered: big-basket}]
exit_on: [{segment_exited: big-basket}]
steps:
  - wait: {for: 2h}
  - branch:
      cases:
        - when: {member: loyal}
          steps: [{send: {channel: email, template: loyal-offer}}]
      else:
        - send: {channel: email, template: standard-offer}
`

const vipScenario = `
name: segment entry, membership branch, segment exit
customers:
  - {user: ines, traits: {loyalty: true}}
  - {user: jules}
  - {user: kim}
steps:
  - {at: "+0", user: ines, traits: {basket_value: 150}}
  - {at: "+0", user: jules, traits: {basket_value: 120}}
  - {at: "+10m", user: kim, traits: {basket_value: 300}}
  - {at: "+1h", user: kim, traits: {basket_value: 20}}
expect:
  - {at: "+2h", user: ines, send: {template: loyal-offer}}
  - {at: "+2h", user: jules, send: {template: standard-offer}}
  - {user: kim, no_send: {}}
  - {user: kim, ends: exited}
`

func TestSegmentTriggersAndBranches(t *testing.T) {
	files, err := sim.ParseJourneyFile("vip.yaml", []byte(vipFile))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sim.ParseScenario("vip-scenario.yaml", strings.NewReader(vipScenario))
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
	if !slices.ContainsFunc(res.Ends, func(e sim.EndLine) bool {
		return e.User == "kim" && strings.Contains(e.Reason, "exit_on[0]: Segment Exited")
	}) {
		t.Fatalf("kim's exit reason:\n%s", out.String())
	}
}

func TestScenarioErrorsSayWhere(t *testing.T) {
	for src, want := range map[string]string{
		"steps:\n  - {at: \"+1h\", event: X}\n":                                                "steps[0].user: is required",
		"steps:\n  - {at: \"+2h\", user: a, event: X}\n  - {at: \"+1h\", user: a, event: Y}\n": "steps[1].at: +0d01h00m is before the previous step",
		"steps:\n  - {at: \"soon\", user: a, event: X}\n":                                      `"soon" is not an offset`,
		"expect:\n  - {user: a}\n":                                                             "expect[0]: give user and one of send, no_send, ends, converts or task",
		"stepz: []\n":                                                                          "field stepz not found",
	} {
		_, err := sim.ParseScenario("s.yaml", strings.NewReader(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", src, err, want)
		}
	}
}

const scheduledFile = `
kind: segment
id: vip
name: VIP
where: {trait: vip, equals: true}
---
kind: journey
id: vip-daily
name: VIP morning offer
triggers:
  - schedule: {at: "10:00", zone: Europe/Paris, segment: vip}
re_entry: {policy: cooldown, cooldown: 2d}
steps:
  - send: {channel: email, template: vip-offer}
`

const scheduledScenario = `
name: a daily schedule over a segment
customers:
  - {user: ana, traits: {vip: true}}
  - {user: bob}
steps:
  - {at: "+1d12h", user: bob, traits: {vip: true}}
until: "+4d"
expect:
  # Saved at +0 (10:00 in Paris): the first run is the next day's.
  - {at: "+1d", user: ana, send: {template: vip-offer}}
  - {at: "+3d", user: ana, send: {template: vip-offer}}
  - {at: "+2d", user: bob, send: {template: vip-offer}}
  - {at: "+4d", user: bob, send: {template: vip-offer}}
`

// A schedule runs at its time in its zone (10:00 in Paris is 09:00 UTC in
// January), over the segment's members of the moment, with the re-entry
// policy (a 2-day cool-down: every other day).
func TestScheduledTrigger(t *testing.T) {
	files, err := sim.ParseJourneyFile("daily.yaml", []byte(scheduledFile))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sim.ParseScenario("daily-scenario.yaml", strings.NewReader(scheduledScenario))
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(context.Background(), files, sc)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	res.Print(&out)
	if !res.Passed || len(res.Sends) != 4 {
		t.Fatalf("%d sends; want ana at +1d and +3d, bob at +2d and +4d:\n%s", len(res.Sends), out.String())
	}
}
