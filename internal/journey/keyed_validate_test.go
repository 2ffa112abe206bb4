package journey_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/problem"
)

// TestFreshnessAndKeyValidation: max_age and re_entry.key are checked
// like the other fields, with where and how to fix it.
func TestFreshnessAndKeyValidation(t *testing.T) {
	tests := []struct {
		name, from, to, path, reason string
	}{
		{"max_age of zero", "where: {category: shoes}", "where: {category: shoes}\n    max_age: 0h", "triggers[0].max_age", "positive duration like 2h"},
		{"max_age on a segment trigger", "- segment_entered: vip", "- {segment_entered: vip, max_age: 2h}", "triggers[1].max_age", "set event too"},
		{"max_age on an api trigger", "- api: true", "- {api: true, max_age: 2h}", "triggers[2].max_age", "set event too"},
		{"wait_for max_age of zero", "timeout: 23h", "timeout: 23h\n      max_age: 0s", "steps[2].wait_for.max_age", "positive duration"},
		{"key with an empty part", "cooldown: 7d}", "cooldown: 7d, key: order.}", "re_entry.key", `"order." has an empty part`},
		{"key with spaces around", "cooldown: 7d}", "cooldown: 7d, key: ' order_id'}", "re_entry.key", "not a property path"},
		{"key as a placeholder", "cooldown: 7d}", "cooldown: 7d, key: '{{ event.order_id }}'}", "re_entry.key", "no {{ }}"},
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
			if ve.Path != tc.path || !strings.Contains(ve.Reason, tc.reason) {
				t.Fatalf("got %s, want path %s and a reason with %q", err, tc.path, tc.reason)
			}
		})
	}

	// A key needs an event to read it from.
	d := parseOne(t, `
id: vip
name: VIP
triggers: [{segment_entered: vip}]
re_entry: {policy: always, key: order_id}
steps: [{exit: {}}]
`)
	var ve *problem.ValidationError
	if err := journey.Validate(d, known); !errors.As(err, &ve) || ve.Path != "re_entry.key" || !strings.Contains(ve.Reason, "no trigger is an event") {
		t.Fatalf("key without an event trigger: %v", err)
	}

	// A max_age that is no duration is refused when read, with its line.
	_, err := journey.ParseYAML("j.yaml", strings.NewReader("id: x\nname: X\ntriggers:\n  - event: Product Viewed\n    max_age: 2 hours\nsteps: [{exit: {}}]\n"))
	if err == nil || !strings.Contains(err.Error(), "line 5") || !strings.Contains(err.Error(), `"2 hours" is not a duration like 7d`) {
		t.Fatalf("max_age: 2 hours: %v", err)
	}

	// The valid forms, kept as written.
	d = parseOne(t, strings.Replace(strings.Replace(validJourney, "where: {category: shoes}", "where: {category: shoes}\n    max_age: 2h", 1),
		"cooldown: 7d}", "cooldown: 7d, key: order.id}", 1))
	if err := journey.Validate(d, known); err != nil {
		t.Fatal(err)
	}
	if d.ReEntry.Key != "order.id" || d.Triggers[0].MaxAge == nil || time.Duration(*d.Triggers[0].MaxAge) != 2*time.Hour {
		t.Fatalf("parsed %+v %+v", d.ReEntry, d.Triggers[0])
	}
}
