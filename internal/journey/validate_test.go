package journey_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
)

const validJourney = `
kind: journey
id: cart
name: Abandoned cart
triggers:
  - event: Product Added
    where: {category: shoes}
  - segment_entered: vip
  - api: true
re_entry: {policy: cooldown, cooldown: 7d}
exit_on:
  - event: Order Completed
control_group: 10
steps:
  - wait: {for: 1h}
  - send: {channel: email, template: cart-offer, topic: cart}
  - wait_for:
      event: Order Completed
      timeout: 23h
      on_timeout:
        - branch:
            cases:
              - when: {reachable: sms}
                steps:
                  - send: {channel: sms, template: cart-sms}
            else:
              - exit: {reason: not reachable by SMS}
  - split:
      variants:
        - {name: a, weight: 1, steps: [{update_trait: {trait: cart_nudged, value: true}}]}
        - {name: holdout, weight: 1}
  - wait: {until: "10:00"}
`

func parseOne(t *testing.T, src string) *journey.Definition {
	t.Helper()
	defs, err := journey.ParseYAML("test.yaml", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 {
		t.Fatalf("%d definitions", len(defs))
	}
	return defs[0]
}

var known = segment.Known{Segments: map[string]*segment.Definition{"vip": {ID: "vip"}}}

func TestValidJourney(t *testing.T) {
	d := parseOne(t, validJourney)
	if err := journey.Validate(d, known); err != nil {
		t.Fatal(err)
	}
	if d.Steps[3].Split.Variants[0].Steps[0].UpdateTrait.Value != true || d.ControlGroup != 10 {
		t.Fatalf("parsed wrong: %+v", d)
	}
}

func TestValidationErrors(t *testing.T) {
	tests := []struct {
		name, from, to, path, reason string
	}{
		{"bad time of day", `until: "10:00"`, `until: "25:00"`, "steps[4].wait.until", "not a time of day"},
		{"schedule on an unknown segment", "- api: true", `- schedule: {at: "10:00", segment: nope}`, "triggers[2].schedule.segment", `no segment "nope"`},
		{"schedule at no time", "- api: true", `- schedule: {at: "noon", segment: vip}`, "triggers[2].schedule.at", "not a time of day"},
		{"unknown zone", `wait: {until: "10:00"}`, `wait: {until: "10:00", zone: Mars/Base}`, "steps[4].wait.zone", "IANA zone"},
		{"webhook without http", "- send: {channel: email, template: cart-offer, topic: cart}", "- webhook: {url: ftp://crm/x}", "steps[1].webhook.url", "not an http or https URL"},
		{"unknown channel", "channel: email", "channel: fax", "steps[1].send.channel", `"fax"`},
		{"unknown segment", "segment_entered: vip", "segment_entered: vipp", "triggers[1].segment_entered", `no segment "vipp"`},
		{"cooldown missing", "{policy: cooldown, cooldown: 7d}", "{policy: cooldown}", "re_entry.cooldown", "is required"},
		{"nested branch condition", "{reachable: sms}", "{reachable: fax}", "steps[2].wait_for.on_timeout[0].branch.cases[0].when.reachable", "expected one of"},
		{"nested performed refused", "{reachable: sms}", "{all: [{performed: {event: X}}]}", "steps[2].wait_for.on_timeout[0].branch.cases[0].when", "only evaluated inside segments"},
		{"performed with a window", "{reachable: sms}", "{performed: {event: X, within: 1d}}", "steps[2].wait_for.on_timeout[0].branch.cases[0].when.performed.within", "since the customer entered"},
		{"two kinds", "- wait: {for: 1h}", "- {wait: {for: 1h}, exit: {}}", "steps[0]", "one kind per step"},
		{"no timeout", "timeout: 23h", "timeout: 0h", "steps[2].wait_for.timeout", "is required"},
		{"control group", "control_group: 10", "control_group: 100", "control_group", "percentage"},
		{"one variant", "- {name: holdout, weight: 1}", "", "steps[3].split.variants", "at least two"},
		{"entry condition", "control_group: 10", "control_group: 10\nentry_when: {computed: orders}", "entry_when.computed", "not a computed trait"},
		{"goal without window", "control_group: 10", "control_group: 10\ngoal: {event: Order Completed}", "goal.within", "conversion window"},
		{"goal without event", "control_group: 10", "control_group: 10\ngoal: {within: 7d}", "goal.event", "is required"},
		{"event where without event", "- event: Order Completed", "- where: {a: 1}", "exit_on[0].where", "filters nothing"},
		{"date_trait offset in weeks", "- api: true", "- date_trait: {trait: birthday, offset: -1w}", "triggers[2].date_trait.offset", "number of days"},
		{"date_trait without trait", "- api: true", "- date_trait: {offset: -7d}", "triggers[2].date_trait.trait", "is required"},
		{"date_trait at no time", "- api: true", `- date_trait: {trait: birthday, at: "25:00"}`, "triggers[2].date_trait.at", "not a time of day"},
		{"date_trait in no zone", "- api: true", "- date_trait: {trait: birthday, zone: Mars/Base}", "triggers[2].date_trait.zone", "IANA zone"},
		{"date_trait and api", "- api: true", "- {api: true, date_trait: {trait: birthday}}", "triggers[2]", "one trigger per item"},
		{"date_trait and schedule", "- api: true", `- {schedule: {at: "10:00", segment: vip}, date_trait: {trait: birthday}}`, "triggers[2]", "one trigger per item"},
		{"in_stock without sku", "{reachable: sms}", "{in_stock: {store: nearest}}", "steps[2].wait_for.on_timeout[0].branch.cases[0].when.in_stock.sku", "is required"},
		{"in_stock placeholder", "{reachable: sms}", `{in_stock: {sku: "{{ sku }}"}}`, "steps[2].wait_for.on_timeout[0].branch.cases[0].when.in_stock.sku", "{{ event.PROPERTY }}"},
		{"in_stock km at a named store", "{reachable: sms}", "{in_stock: {sku: X, store: lyon, km: 2}}", "steps[2].wait_for.on_timeout[0].branch.cases[0].when.in_stock.km", "store: nearest only"},
		{"in_stock with a wrong condition", "{reachable: sms}", "{in_stock: {sku: X}, reachable: fax}", "steps[2].wait_for.on_timeout[0].branch.cases[0].when.reachable", "expected one of"},
		{"task without store", "- wait: {for: 1h}", "- task: {title: Call them}", "steps[0].task.store", "is required"},
		{"task without title", "- wait: {for: 1h}", "- task: {store: nearest}", "steps[0].task.title", "is required"},
		{"task with a bad placeholder", "- wait: {for: 1h}", `- task: {store: nearest, title: "{{ customer.name }}"}`, "steps[0].task.title", "placeholder"},
		{"task with a store field placeholders do not have", "- wait: {for: 1h}", `- task: {store: nearest, title: "near {{ store.city }}"}`, "steps[0].task.title", "{{ store.id|name|distance_km|available|sku }}"},
		{"task history", "- wait: {for: 1h}", "- task: {store: lyon, title: Hi, history: 500}", "steps[0].task.history", "0 (the default, 10) to 100"},
		{"wait_for where placeholder", "timeout: 23h", "timeout: 23h\n      where: {sku: '{{ evnt.sku }}'}", "steps[2].wait_for.where.sku", "placeholder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(validJourney, tc.from, tc.to, 1)
			if src == validJourney {
				t.Fatalf("replacement %q not found", tc.from)
			}
			err := journey.Validate(parseOne(t, src), known)
			var ve *problem.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a ValidationError, got %v", err)
			}
			if ve.Path != tc.path || !strings.Contains(ve.Reason, tc.reason) || ve.ID != "cart" {
				t.Fatalf("got %s, want path %s and a reason with %q", err, tc.path, tc.reason)
			}
		})
	}
}

func TestParseRefusesUnknownFields(t *testing.T) {
	_, err := journey.ParseYAML("j.yaml", strings.NewReader("kind: journey\nid: x\nstepz: []\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "stepz") {
		t.Fatalf("got %v", err)
	}
}
