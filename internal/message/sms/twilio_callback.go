package sms

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
)

// Errors of the callback parsers.
var (
	// ErrBadSignature: the request is not from the provider (or was altered).
	ErrBadSignature = errors.New("sms: callback signature does not match")
	// ErrInterimStatus: the callback reports a state that is not a receipt
	// (queued, accepted, sending, buffered, ...). Answer 200, record nothing.
	ErrInterimStatus = errors.New("sms: interim status, not a receipt")
)

// maxForm bounds a callback body; Twilio's are under 2 KB.
const maxForm = 64 << 10

// TwilioSignature computes X-Twilio-Signature for a POST to fullURL with
// params: base64(HMAC-SHA1(authToken, fullURL + each param name and value,
// sorted by name)), as documented at
// https://www.twilio.com/docs/usage/security#validating-requests
func TwilioSignature(authToken provider.Secret, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	h := hmac.New(sha1.New, []byte(authToken.Reveal()))
	h.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// verifyTwilio parses r's form and checks its X-Twilio-Signature. fullURL
// is the URL exactly as configured at Twilio (scheme, host, port, path and
// query), since a proxy in front of Parcours changes what r.URL says.
func verifyTwilio(r *http.Request, authToken provider.Secret, fullURL string) (url.Values, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("twilio callback: parse form: %w", err)
	}
	got := r.Header.Get("X-Twilio-Signature")
	want := TwilioSignature(authToken, fullURL, r.PostForm)
	if got == "" || !hmac.Equal([]byte(got), []byte(want)) {
		return nil, ErrBadSignature
	}
	return r.PostForm, nil
}

// twilioBounce are delivery error codes that say the number is unreachable
// for good: 30005 unknown destination handset, 30006 landline or
// unreachable carrier, 30003 unreachable destination handset is only
// temporary (phone off) and stays a failure.
var twilioBounce = map[string]bool{"30005": true, "30006": true}

// ParseTwilioStatusCallback validates and parses a status callback
// (https://www.twilio.com/docs/messaging/guides/track-outbound-message-status).
// MessageStatus sent, delivered, read, undelivered and failed become
// receipts; undelivered/failed with ErrorCode 30005/30006 become Bounced
// (suppress the number). Interim states return ErrInterimStatus. The
// receipt time is the callback's arrival, taken from now.
func ParseTwilioStatusCallback(r *http.Request, authToken provider.Secret, fullURL, providerName string, now time.Time) (provider.Receipt, error) {
	form, err := verifyTwilio(r, authToken, fullURL)
	if err != nil {
		return provider.Receipt{}, err
	}
	sid := firstNonEmpty(form.Get("MessageSid"), form.Get("SmsSid"))
	if sid == "" {
		return provider.Receipt{}, errors.New("twilio callback: no MessageSid")
	}
	rc := provider.Receipt{Provider: providerName, ProviderID: sid, At: now, Address: form.Get("To"), Code: form.Get("ErrorCode")}
	switch st := firstNonEmpty(form.Get("MessageStatus"), form.Get("SmsStatus")); st {
	case "sent":
		rc.Status = provider.Sent
	case "delivered":
		rc.Status = provider.Delivered
	case "read":
		rc.Status = provider.Read
	case "undelivered", "failed":
		rc.Status = provider.Failed
		if twilioBounce[rc.Code] {
			rc.Status = provider.Bounced
		}
		rc.Reason = st
	case "queued", "accepted", "sending", "scheduled", "canceled", "receiving", "received", "partially_delivered":
		return provider.Receipt{}, fmt.Errorf("%w: %s", ErrInterimStatus, st)
	default:
		return provider.Receipt{}, fmt.Errorf("twilio callback: unknown MessageStatus %q", st)
	}
	return rc, nil
}

// Inbound is a message a customer sent to one of the brand's numbers.
type Inbound struct {
	Provider  string
	MessageID string
	From      string // the customer, E.164
	To        string // the brand's number
	Body      string
}

// optOut are the keywords carriers and Twilio treat as opt-out (English
// defaults) plus the French ones ("STOP" and "ARRET"/"ARRÊT").
var optOut = map[string]bool{
	"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true,
	"OPTOUT": true, "REVOKE": true, "ARRET": true, "ARRÊT": true, "STOP SMS": true, "DESABONNER": true,
}

// IsOptOut reports whether the body is an opt-out keyword (case and
// surrounding spaces or punctuation ignored): the pipeline unsubscribes the
// sender from SMS when it is.
func (in Inbound) IsOptOut() bool {
	w := strings.ToUpper(strings.Trim(strings.TrimSpace(in.Body), ".!"))
	return optOut[w]
}

// ParseTwilioInbound validates and parses an incoming-message webhook
// (https://www.twilio.com/docs/messaging/guides/webhook-request).
func ParseTwilioInbound(r *http.Request, authToken provider.Secret, fullURL, providerName string) (Inbound, error) {
	form, err := verifyTwilio(r, authToken, fullURL)
	if err != nil {
		return Inbound{}, err
	}
	in := Inbound{Provider: providerName, MessageID: firstNonEmpty(form.Get("MessageSid"), form.Get("SmsSid")),
		From: form.Get("From"), To: form.Get("To"), Body: form.Get("Body")}
	if in.From == "" || in.MessageID == "" {
		return Inbound{}, errors.New("twilio inbound: From and MessageSid are required")
	}
	return in, nil
}
