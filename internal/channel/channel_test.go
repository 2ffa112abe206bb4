package channel_test

import (
	"slices"
	"strings"
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

// TestLists checks the lists the table gives, as far as the channels
// Parcours ships with go: a channel added to the table goes after them.
func TestLists(t *testing.T) {
	for _, tc := range []struct{ name, got, want string }{
		{"Names(nil)", channel.Join(channel.Names(nil)), "email, sms, push, whatsapp, webhook"},
		{"personal channels", channel.Or(channel.Names(channel.Descriptor.Personal)), "email, sms, push"},
		{"Fallback()", channel.Join(channel.Fallback()), "email, push, sms, whatsapp"},
		{"STOP channels", channel.Or(channel.Names(func(d channel.Descriptor) bool { return d.Stop })), "sms"},
	} {
		if !strings.HasPrefix(tc.got, tc.want) {
			t.Errorf("%s = %s, want %s first", tc.name, tc.got, tc.want)
		}
	}
	if got := channel.Join(channel.Engaged()); !strings.HasPrefix(got, "email, sms, push, whatsapp") || !strings.HasSuffix(got, ", in-app") {
		t.Errorf("Engaged() = %s", got)
	}
	if got := channel.Or([]channel.Name{"a", "b", "c"}); got != "a, b or c" {
		t.Errorf("Or = %s", got)
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
	before := len(channel.All())
	restore := channel.Extend(channel.Descriptor{Name: "fax", Address: identity.Phone, Fallback: 99})
	if d, ok := channel.Lookup("fax"); !ok || !d.Personal() || !slices.Contains(channel.Fallback(), "fax") {
		t.Fatalf("fax after Extend: %+v %v", d, ok)
	}
	restore()
	if channel.Known("fax") || len(channel.All()) != before {
		t.Fatalf("fax after restore: %v", channel.Names(nil))
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
