// Package provider defines what a delivery provider is: the one interface
// every provider family (email, sms, whatsapp, push, webhook) implements, the
// rendered message it sends, the receipts it reports and how its errors are
// classified. The message pipeline (outbox, consent, caps) depends only on
// this package; each family lives in its own package beside it.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/parcours/parcours/internal/channel"
)

// Channel is a messaging channel. What each one is (its address, consent,
// STOP, limits) is described once, in internal/channel.
type Channel = channel.Name

// The channels Parcours ships with, by the names the pipeline and the
// providers use (the same values as channel.Email, ...).
const (
	Email    = channel.Email
	SMS      = channel.SMS
	WhatsApp = channel.WhatsApp
	Push     = channel.Push
	Webhook  = channel.Webhook
)

// Message is one rendered message, ready for a provider. Which fields a
// provider reads depends on its channel.
type Message struct {
	// Key is the send key: stable across retries and restarts. Providers
	// whose API has an idempotency key send it there; SMTP puts it in the
	// Message-ID.
	Key     string
	Channel Channel
	// To is the address: an email address, an E.164 phone number, a
	// device token, or (webhook) empty for the provider's configured URL.
	To   string
	From string // empty: the provider's configured sender

	// Email.
	Subject string
	HTML    string
	Text    string
	// Headers are extra email headers (List-Unsubscribe, ...).
	Headers map[string]string

	// SMS, WhatsApp session message, push body.
	Body string
	// Push.
	Title string
	Data  map[string]string // push data payload / webhook extras
	// WhatsApp template message (business-initiated); nil: a session
	// (free-form text) message with Body.
	Template *WhatsAppTemplate
	// Replies are the quick replies a WhatsApp customer taps instead of
	// typing: under a session message, reply buttons (up to 3) or the
	// rows of a list (up to 10) opened by a button labelled ReplyButton;
	// with a template, the payloads of its quick-reply buttons, in order
	// (their titles are the approved template's). A tap comes back as an
	// inbound message whose reply id is Reply.ID.
	Replies     []Reply
	ReplyButton string
	// Webhook: the JSON body to POST; nil: the message itself as JSON.
	Payload json.RawMessage

	// StatusCallback is the URL a provider that supports it calls with
	// delivery receipts (Twilio's StatusCallback).
	StatusCallback string
}

// Reply is one quick reply: the id it comes back with, the title shown.
type Reply struct {
	ID    string
	Title string
}

// WhatsAppTemplate is a pre-approved WhatsApp template and its body
// parameters, in order.
type WhatsAppTemplate struct {
	Name     string
	Language string // e.g. "fr", "en_US"
	Params   []string
}

// Result is what a provider answered to an accepted message.
type Result struct {
	// ProviderID is the provider's own id for the message (Twilio SID,
	// SMTP Message-ID, WhatsApp wamid, FCM message name), which receipts
	// refer to.
	ProviderID string
}

// Provider sends messages on one channel through one service.
type Provider interface {
	// Name is the provider's configured name (e.g. "twilio-fr").
	Name() string
	Channel() Channel
	// Send delivers m to the provider. A nil error means the provider
	// accepted the message. Errors are *Error where the provider said
	// whether to retry.
	Send(ctx context.Context, m *Message) (Result, error)
	Close() error
}

// Error is a provider's refusal, classified.
type Error struct {
	Provider string
	// Temporary errors are retried with backoff; permanent ones fail the
	// message (and, for Suppress, the address).
	Temporary bool
	// Suppress says the address itself is bad (hard bounce, unknown
	// number, unregistered token): it must not be tried again.
	Suppress bool
	// RetryAfter is the provider's requested delay, 0 if it gave none.
	RetryAfter time.Duration
	Code       string // the provider's error code or status
	Err        error
}

func (e *Error) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	if e.Code != "" {
		return fmt.Sprintf("%s: %s error %s: %v", e.Provider, kind, e.Code, e.Err)
	}
	return fmt.Sprintf("%s: %s error: %v", e.Provider, kind, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsTemporary reports whether err should be retried. Errors that are not
// *Error (network failures, timeouts) are temporary.
func IsTemporary(err error) bool {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Temporary
	}
	return err != nil
}

// Status is a receipt's delivery state.
type Status string

// The receipt states; they become the events "Message Delivered", etc.
const (
	Sent         Status = "sent"
	Delivered    Status = "delivered"
	Bounced      Status = "bounced" // hard bounce: suppress the address
	SoftBounced  Status = "soft_bounced"
	Complained   Status = "complained" // spam complaint: suppress
	Failed       Status = "failed"
	Opened       Status = "opened"
	Clicked      Status = "clicked"
	Unsubscribed Status = "unsubscribed"
	Read         Status = "read"
)

// Receipt is what a provider reported later about a message.
type Receipt struct {
	Provider   string
	ProviderID string // Result.ProviderID of the message
	Status     Status
	At         time.Time
	Address    string // the recipient, when the receipt names it
	Code       string // the provider's status or error code
	Reason     string
}

// Secret is a credential. It never prints: logs, errors and JSON show
// "[redacted]".
type Secret string

func (Secret) String() string               { return "[redacted]" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }
func (Secret) GoString() string             { return "[redacted]" }

// Reveal returns the credential itself, for the request that needs it.
func (s Secret) Reveal() string { return string(s) }
