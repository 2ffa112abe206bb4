package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
)

// Webhook errors.
var (
	ErrBadSignature   = errors.New("whatsapp: X-Hub-Signature-256 does not match")
	ErrBadVerifyToken = errors.New("whatsapp: hub.verify_token does not match")
)

const maxWebhook = 1 << 20

// VerifySubscription answers Meta's subscription handshake
// (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests):
// a GET with hub.mode=subscribe, hub.verify_token (the token configured at
// Meta) and hub.challenge, which the endpoint must echo with 200.
func VerifySubscription(q url.Values, verifyToken provider.Secret) (challenge string, err error) {
	if q.Get("hub.mode") != "subscribe" {
		return "", fmt.Errorf("whatsapp: hub.mode %q, want subscribe", q.Get("hub.mode"))
	}
	if verifyToken.Reveal() == "" || subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(verifyToken.Reveal())) != 1 {
		return "", ErrBadVerifyToken
	}
	return q.Get("hub.challenge"), nil
}

// Inbound is a text a customer sent to the business number, or a quick
// reply they tapped: an interactive reply button or list row (ReplyID is
// its id, Body its title), or a template's quick-reply button (ReplyID is
// the payload the template was sent with, Body the button's text).
type Inbound struct {
	Provider  string
	MessageID string
	From      string // wa_id, the customer's number without '+'
	Body      string
	ReplyID   string
	At        time.Time
}

// Notification is what one webhook POST carried.
type Notification struct {
	Receipts []provider.Receipt
	Inbound  []Inbound
}

type payload struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Statuses []struct {
					ID          string `json:"id"`
					Status      string `json:"status"`
					Timestamp   string `json:"timestamp"`
					RecipientID string `json:"recipient_id"`
					Errors      []struct {
						Code  int    `json:"code"`
						Title string `json:"title"`
					} `json:"errors"`
				} `json:"statuses"`
				Messages []struct {
					From      string `json:"from"`
					ID        string `json:"id"`
					Timestamp string `json:"timestamp"`
					Type      string `json:"type"`
					Text      struct {
						Body string `json:"body"`
					} `json:"text"`
					// type interactive: a reply button or a list row tapped.
					Interactive struct {
						Type        string `json:"type"` // button_reply or list_reply
						ButtonReply struct {
							ID    string `json:"id"`
							Title string `json:"title"`
						} `json:"button_reply"`
						ListReply struct {
							ID    string `json:"id"`
							Title string `json:"title"`
						} `json:"list_reply"`
					} `json:"interactive"`
					// type button: a template's quick-reply button tapped.
					Button struct {
						Payload string `json:"payload"`
						Text    string `json:"text"`
					} `json:"button"`
				} `json:"messages"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// ParseWebhook validates X-Hub-Signature-256 ("sha256=" + hex
// HMAC-SHA256 of the raw body keyed with the app secret) and extracts the
// status notifications (entry[].changes[].value.statuses[]: sent,
// delivered, read, failed) as receipts and the inbound text messages and
// quick replies (interactive button_reply and list_reply, template
// quick-reply buttons).
// https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
func ParseWebhook(r *http.Request, appSecret provider.Secret, providerName string) (Notification, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhook+1))
	if err != nil {
		return Notification{}, fmt.Errorf("whatsapp webhook: read body: %w", err)
	}
	if len(body) > maxWebhook {
		return Notification{}, fmt.Errorf("whatsapp webhook: body over %d bytes", maxWebhook)
	}
	sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256=")
	h := hmac.New(sha256.New, []byte(appSecret.Reveal()))
	h.Write(body)
	if !ok || appSecret.Reveal() == "" || !hmac.Equal([]byte(sig), []byte(hex.EncodeToString(h.Sum(nil)))) {
		return Notification{}, ErrBadSignature
	}
	return DecodeWebhook(body, providerName)
}

// DecodeWebhook decodes an already verified webhook body.
func DecodeWebhook(body []byte, providerName string) (Notification, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return Notification{}, fmt.Errorf("whatsapp webhook: decode: %w", err)
	}
	var n Notification
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			for _, s := range c.Value.Statuses {
				if s.ID == "" {
					continue // names no message: nothing to record
				}
				rc := provider.Receipt{Provider: providerName, ProviderID: s.ID, At: unixTime(s.Timestamp)}
				if s.RecipientID != "" {
					rc.Address = "+" + s.RecipientID
				}
				switch s.Status {
				case "sent":
					rc.Status = provider.Sent
				case "delivered":
					rc.Status = provider.Delivered
				case "read":
					rc.Status = provider.Read
				case "failed":
					rc.Status = provider.Failed
				default:
					continue // "deleted", "warning" and future states are not receipts
				}
				if len(s.Errors) > 0 {
					rc.Code, rc.Reason = strconv.Itoa(s.Errors[0].Code), s.Errors[0].Title
				}
				n.Receipts = append(n.Receipts, rc)
			}
			for _, m := range c.Value.Messages {
				in := Inbound{Provider: providerName, MessageID: m.ID, From: m.From, At: unixTime(m.Timestamp)}
				switch {
				case m.Type == "text":
					in.Body = m.Text.Body
				case m.Type == "interactive" && m.Interactive.Type == "button_reply" && m.Interactive.ButtonReply.ID != "":
					in.ReplyID, in.Body = m.Interactive.ButtonReply.ID, m.Interactive.ButtonReply.Title
				case m.Type == "interactive" && m.Interactive.Type == "list_reply" && m.Interactive.ListReply.ID != "":
					in.ReplyID, in.Body = m.Interactive.ListReply.ID, m.Interactive.ListReply.Title
				case m.Type == "button" && (m.Button.Payload != "" || m.Button.Text != ""):
					in.ReplyID, in.Body = m.Button.Payload, m.Button.Text
				default:
					continue // images, locations, reactions: not texts
				}
				n.Inbound = append(n.Inbound, in)
			}
		}
	}
	return n, nil
}

// unixTime reads a timestamp in Unix seconds; zero (the time of arrival,
// for the pipeline) when it is not one or falls outside years 1-9999.
func unixTime(s string) time.Time {
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	t := time.Unix(secs, 0).UTC()
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}
	}
	return t
}
