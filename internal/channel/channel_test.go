package channel_test

import (
	"slices"
	"testing"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/identity"
)

// TestTable checks what every reader of the table relies on: unique
// names, distinct fallback ranks, and STOP only where a customer can text.
func TestTable(t *testing.T) {
	seen, ranks := map[channel.Name]bool{}, map[int]channel.Name{}
	for _, d := range channel.All() {
		if d.Name == "" || d.Name == channel.Best || seen[d.Name] {
			t.Errorf("%q: empty, reserved or twice", d.Name)
		}
		seen[d.Name] = true
		if r := d.Fallback; r > 0 {
			if other, dup := ranks[r]; dup {
				t.Errorf("%s and %s share fallback rank %d", d.Name, other, r)
			}
			ranks[r] = d.Name
			if !d.Personal() {
				t.Errorf("%s: best can only fall back to a channel that reaches a customer", d.Name)
			}
		}
		if d.Stop && d.Address != identity.Phone {
			t.Errorf("%s: STOP comes from a phone number", d.Name)
		}
	}
}

func TestLists(t *testing.T) {
	if got := channel.Join(channel.Names(nil)); got != "email, sms, push, whatsapp, webhook" {
		t.Errorf("Names(nil) = %s", got)
	}
	if got := channel.Or(channel.Names(channel.Descriptor.Personal)); got != "email, sms, push or whatsapp" {
		t.Errorf("personal channels = %s", got)
	}
	if got := channel.Join(channel.Fallback()); got != "email, push, sms, whatsapp" {
		t.Errorf("Fallback() = %s", got)
	}
	if got := channel.Join(channel.Engaged()); got != "email, sms, push, whatsapp, in-app" {
		t.Errorf("Engaged() = %s", got)
	}
	if got := channel.Or(channel.Names(func(d channel.Descriptor) bool { return d.Stop })); got != "sms or whatsapp" {
		t.Errorf("STOP channels = %s", got)
	}
	for trait, want := range map[string]channel.Name{"email_opt_in": channel.Email, "pushOptIn": channel.Push, "whatsapp_opt_in": channel.WhatsApp, "webhook_opt_in": "", "opt_in": ""} {
		if got, ok := channel.ByOptInTrait(trait); got != want || ok != (want != "") {
			t.Errorf("ByOptInTrait(%s) = %q, %v", trait, got, ok)
		}
	}
	if channel.Known(channel.Best) || !channel.Known(channel.Webhook) {
		t.Error("Known: best is not a channel, webhook is")
	}
}

func TestExtend(t *testing.T) {
	restore := channel.Extend(channel.Descriptor{Name: "rcs", Address: identity.Phone, Fallback: 5})
	if d, ok := channel.Lookup("rcs"); !ok || !d.Personal() || !slices.Contains(channel.Fallback(), "rcs") {
		t.Fatalf("rcs after Extend: %+v %v", d, ok)
	}
	restore()
	if channel.Known("rcs") || len(channel.All()) != 5 {
		t.Fatalf("rcs after restore: %v", channel.Names(nil))
	}
	defer func() {
		if recover() == nil {
			t.Error("Extend with a name already taken did not panic")
		}
	}()
	channel.Extend(channel.Descriptor{Name: channel.SMS})
}

var personal bool

// BenchmarkLookup is what reading the table costs the message pipeline
// where a comparison with a constant was (personal(ch): a few
// nanoseconds, against hundreds of microseconds per message sent).
func BenchmarkLookup(b *testing.B) {
	for b.Loop() {
		d, _ := channel.Lookup(channel.WhatsApp)
		personal = d.Personal()
	}
}
