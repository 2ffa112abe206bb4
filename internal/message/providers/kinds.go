package providers

import (
	"net/http"
	"reflect"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/message/provider"
)

// The provider types.
const (
	TypeSMTP     = "smtp"
	TypeTwilio   = "twilio"
	TypeVonage   = "vonage"
	TypeWhatsApp = "whatsapp"
	TypeFCM      = "fcm"
	TypeAPNs     = "apns"
	TypeWebhook  = "webhook"
)

// kind is what Parcours knows of a provider type: the channel it serves,
// its settings and their checks, how the provider is built, and the
// callbacks it receives. Each type lives in a file of its own (smtp.go,
// twilio.go, ...).
type kind struct {
	// channel is the channel the type serves; a type that serves any
	// channel serves the one its entry names, channel by default.
	channel  channel.Name
	any      bool
	settings reflect.Type
	validate func(settings any) error
	build    func(e Entry) (provider.Provider, error)
	hooks    []Hook
}

// kinds are the provider types, in the order errors list them. Adding a
// provider type is a file of its own and a line here.
var kinds = []struct {
	name string
	kind kind
}{
	{TypeSMTP, smtpKind},
	{TypeTwilio, twilioKind},
	{TypeVonage, vonageKind},
	{TypeWhatsApp, whatsappKind},
	{TypeFCM, fcmKind},
	{TypeAPNs, apnsKind},
	{TypeWebhook, webhookKind},
}

func kindNamed(name string) (kind, bool) {
	for _, k := range kinds {
		if k.name == name {
			return k.kind, true
		}
	}
	return kind{}, false
}

// Types lists the provider types, as a providers file's type: names them.
func Types() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.name
	}
	return out
}

// kindOf describes a type whose settings are a T, serving ch.
func kindOf[T any](ch channel.Name, validate func(*T) error, build func(Entry, *T) (provider.Provider, error), hooks ...Hook) kind {
	return kind{
		channel: ch, settings: reflect.TypeFor[T](), hooks: hooks,
		validate: func(s any) error { return validate(s.(*T)) },
		build:    func(e Entry) (provider.Provider, error) { return build(e, e.Settings.(*T)) },
	}
}

// Hook is one callback route of a provider type: the provider calls
// Method (empty: any) /hooks/{Type}/{name}{Path} with delivery receipts
// or the texts customers sent, and Parse reads the request.
type Hook struct {
	Type, Method, Path string
	// Parse authenticates and reads a callback for the provider e. Its
	// error refuses the callback.
	Parse func(r *http.Request, e Entry, c Call) (Callback, error)
}

// Call is what a callback's parsing needs besides the request.
type Call struct {
	// URL is the full URL the provider was configured with for this
	// request (Twilio signs it).
	URL string
	Now time.Time
}

// Callback is what a provider's callback carried, and what to answer.
type Callback struct {
	Receipts []provider.Receipt
	// Inbound are texts customers sent on the entry's channel (STOP ...).
	Inbound []Inbound
	// Reply is the body of the answer (Twilio's empty TwiML, WhatsApp's
	// subscription challenge), of content type ReplyType; empty: 200 with
	// no body.
	Reply, ReplyType string
}

// Inbound is a text a customer sent: the provider's id for it, the
// customer's number and the text.
type Inbound struct {
	ID, From, Body string
	// ReplyID is the id of a quick reply the customer tapped (WhatsApp);
	// Body is then its title.
	ReplyID string
}

// Hooks lists the callback routes of every provider type.
func Hooks() []Hook {
	var out []Hook
	for _, k := range kinds {
		for _, h := range k.kind.hooks {
			h.Type = k.name
			out = append(out, h)
		}
	}
	return out
}

// hookOf is a callback route of a type whose settings are a T.
func hookOf[T any](method, path string, parse func(r *http.Request, name string, s *T, c Call) (Callback, error)) Hook {
	return Hook{Method: method, Path: path, Parse: func(r *http.Request, e Entry, c Call) (Callback, error) {
		return parse(r, e.Name, e.Settings.(*T), c)
	}}
}
