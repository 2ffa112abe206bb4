// Package channel describes, once, the messaging channels Parcours reaches
// customers on: for each, its name, the kind of address it sends to, the
// consent traits that carry its opt-in, whether customers text STOP on it,
// its rank in best's fallback order and the limits of its template
// variant. Everything that names a messaging channel reads this table:
// segment conditions (consent, reachable), journey send steps, profile
// engagement, templates (which variants exist, their limits), the message
// pipeline (addresses, consent, STOP, best channel), the API and the
// providers file. Adding a channel is a provider package, one descriptor
// here and a template variant (docs/architecture.md, "Adding a channel").
//
// Messaging channels are not touchpoints. A touchpoint (internal/source:
// web, ios, android, pos, call_center, ...) is where an event comes from;
// a messaging channel is how Parcours reaches a customer. The two meet in
// one place: every messaging channel that reaches a customer is also a
// touchpoint, since what the customer does with a message (opens, clicks,
// replies) comes back as events on that channel (source.Channels lists
// them through Names).
package channel

import (
	"slices"
	"strings"

	"github.com/parcours/parcours/internal/identity"
)

// Name names a messaging channel in files, the API, the outbox and events.
type Name string

// The messaging channels Parcours ships with, described in the table.
const (
	Email    Name = "email"
	SMS      Name = "sms"
	Push     Name = "push"
	WhatsApp Name = "whatsapp"
	Webhook  Name = "webhook"
)

// Best is not a channel: a send on it lets the message pipeline choose the
// customer's best reachable channel (see Fallback).
const Best Name = "best"

// Descriptor is what Parcours knows about a messaging channel.
type Descriptor struct {
	// Name is the channel's name; its template variant has the same key
	// ({"sms": {"body": ...}}) and its consent traits derive from it.
	Name Name
	// Address is the kind of identifier a message goes to (an email
	// address, an E.164 phone number, a device token); empty for a
	// channel that posts to the brand's own endpoint (webhook). See
	// Personal.
	Address identity.Kind
	// Stop says customers text stop and start keywords on the channel
	// (STOP, ARRET, START): a STOP withdraws its consent and stops every
	// message on it, transactional ones included.
	Stop bool
	// Fallback is the channel's rank in the order a "best" send tries
	// channels in when the message policy gives none (1 first); 0: best
	// never falls back to it.
	Fallback int
	// Limits bound the rendered text of the channel's template variant.
	Limits Limits
}

// Limits bound a rendered message's text; a zero field bounds nothing.
type Limits struct {
	// Segments is the most SMS segments the body may take (GSM-7: 160
	// septets, 153 per segment when concatenated; UCS-2: 70 and 67). The
	// message policy's max_sms_segments overrides it.
	Segments int
	// Title and Body are the most characters of the title and the body
	// (what lock screens show without truncating).
	Title, Body int
}

// descriptors is the table, in the order lists show channels in.
var descriptors = []Descriptor{
	{Name: Email, Address: identity.Email, Fallback: 1},
	{Name: SMS, Address: identity.Phone, Stop: true, Fallback: 3, Limits: Limits{Segments: 4}},
	{Name: Push, Address: identity.DeviceToken, Fallback: 2, Limits: Limits{Title: 65, Body: 240}},
	{Name: WhatsApp, Address: identity.Phone, Stop: true, Fallback: 4},
	{Name: Webhook},
}

// Personal reports whether the channel reaches a customer at an address
// of theirs: every channel but webhook, which posts to the brand's own
// endpoint. Only personal channels have consent, suppressions, caps and
// quiet hours; only they can be a segment's consent or reachable channel,
// a journey send step's channel, or best's choice.
func (d Descriptor) Personal() bool { return d.Address != "" }

// optInSuffixes name a channel's consent traits after the channel.
var optInSuffixes = [2]string{"OptIn", "_opt_in"}

// OptInTraits are the identify traits that carry the channel's consent,
// in the order they are read: smsOptIn, then sms_opt_in.
func (d Descriptor) OptInTraits() [2]string {
	return [2]string{string(d.Name) + optInSuffixes[0], string(d.Name) + optInSuffixes[1]}
}

// MentionsOptIn reports whether s (identify traits as JSON) may hold a
// consent trait: a cheap test before decoding, false positives are fine.
func MentionsOptIn(s string) bool {
	return strings.Contains(s, optInSuffixes[1]) || strings.Contains(s, optInSuffixes[0])
}

// All returns the table. The slice is shared: do not modify it.
func All() []Descriptor { return *table.Load() }

// Lookup returns the descriptor of the channel named n.
func Lookup(n Name) (Descriptor, bool) {
	all := All()
	for i := range all { // by index: no copy of the descriptors passed over
		if all[i].Name == n {
			return all[i], true
		}
	}
	return Descriptor{}, false
}

// Known reports whether n names a channel of the table (Best does not).
func Known(n Name) bool {
	_, ok := Lookup(n)
	return ok
}

// Names lists the channels keep accepts (nil: every channel), in table
// order: Names(Descriptor.Personal) are the channels that reach a
// customer.
func Names(keep func(Descriptor) bool) []Name {
	all := All()
	out := make([]Name, 0, len(all)+len(reportedOnly))
	for _, d := range all {
		if keep == nil || keep(d) {
			out = append(out, d.Name)
		}
	}
	return out
}

// Fallback is the order a "best" send tries channels in after the
// customer's own preference, when the message policy gives none.
func Fallback() []Name {
	var ranked []Descriptor
	for _, d := range All() {
		if d.Fallback > 0 {
			ranked = append(ranked, d)
		}
	}
	slices.SortStableFunc(ranked, func(a, b Descriptor) int { return a.Fallback - b.Fallback })
	out := make([]Name, len(ranked))
	for i, d := range ranked {
		out[i] = d.Name
	}
	return out
}

// ByOptInTrait returns the channel whose consent the identify trait
// carries (email_opt_in, pushOptIn, ...).
func ByOptInTrait(trait string) (Name, bool) {
	for _, d := range All() {
		if t := d.OptInTraits(); d.Personal() && (trait == t[0] || trait == t[1]) {
			return d.Name, true
		}
	}
	return "", false
}

// reportedOnly are channels other tools report engagement on ("In-App
// Clicked") that Parcours does not send on.
var reportedOnly = []Name{"in-app"}

// Engaged are the channel names an engagement event's name may start with
// (Email Opened, SMS Clicked, WhatsApp Replied): the channels that reach a
// customer, and the ones other tools report engagement on (in-app).
func Engaged() []Name {
	return append(Names(Descriptor.Personal), reportedOnly...)
}

// Join writes names as "email, sms, push".
func Join(names []Name) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// Or writes names as "email, sms or push".
func Or(names []Name) string {
	if len(names) < 2 {
		return Join(names)
	}
	return Join(names[:len(names)-1]) + " or " + string(names[len(names)-1])
}
