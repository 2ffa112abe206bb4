package privacy_test

import (
	"testing"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/privacy"
)

// TestGrantsConsent: only an identify that grants an opt-in trait brings
// an erased person back; a refusal, a track or another trait does not.
func TestGrantsConsent(t *testing.T) {
	for _, tc := range []struct {
		e    event.Event
		want bool
	}{
		{event.Event{Type: event.Identify, Traits: []byte(`{"email_opt_in":true}`)}, true},
		{event.Event{Type: event.Identify, Traits: []byte(`{"email":"a@b.fr","sms_opt_in": true }`)}, true},
		{event.Event{Type: event.Identify, Traits: []byte(`{"email_opt_in":false}`)}, false},
		{event.Event{Type: event.Identify, Traits: []byte(`{"email":"a@b.fr"}`)}, false},
		{event.Event{Type: event.Identify, Traits: []byte(`{"nonsense_opt_in":true}`)}, false},
		{event.Event{Type: event.Track, Traits: []byte(`{"email_opt_in":true}`)}, false},
	} {
		if got := privacy.GrantsConsent(&tc.e); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.e.Type, tc.e.Traits, got, tc.want)
		}
	}
}

// TestDefaultPolicyFitsCNIL: the documented defaults (docs/security.md).
func TestDefaultPolicyFitsCNIL(t *testing.T) {
	p := privacy.DefaultPolicy()
	if p.Events != 395*privacy.Day || p.AnonymousProfiles != 90*privacy.Day || p.MessageBodies != 183*privacy.Day || p.Rejections != 30*privacy.Day {
		t.Fatalf("defaults: %+v", p)
	}
}
