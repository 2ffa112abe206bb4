// Package sms sends text messages through the Twilio Messages API and the
// Vonage SMS API, and parses what they call back with: delivery receipts
// (Twilio status callbacks, Vonage DLRs) and inbound messages (for STOP).
package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providerhttp"
	"github.com/parcours/parcours/internal/message/redact"
)

// TwilioBaseURL is Twilio's REST API host.
const TwilioBaseURL = "https://api.twilio.com"

// TwilioConfig configures a Twilio provider.
type TwilioConfig struct {
	Name       string
	AccountSID string          // "AC...", also the Basic auth user
	AuthToken  provider.Secret // the Basic auth password and callback signing key
	// From is the sender (E.164 number or alphanumeric id); or set
	// MessagingServiceSID ("MG...") to let the service pick the sender.
	// A message's own From overrides both.
	From                string
	MessagingServiceSID string
	// StatusCallback is the default URL Twilio posts status callbacks to
	// (a message's own StatusCallback wins).
	StatusCallback string
	BaseURL        string // default TwilioBaseURL (regional edges, tests)
	Timeout        time.Duration
	MaxConns       int
	HTTPClient     *http.Client
	Clock          clock.Clock
}

// Twilio sends SMS with the Messages resource:
// https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json
//	Authorization: Basic base64(AccountSid:AuthToken)
//	Content-Type: application/x-www-form-urlencoded
//	To=+33...&From=+33... (or MessagingServiceSid=MG...)&Body=...&StatusCallback=...
//
// The create call has no documented idempotency key (the
// I-Twilio-Idempotency-Token header is one Twilio sets on the webhooks it
// sends, not one it reads), so a retry after a lost answer can send twice;
// the pipeline's send key bounds that to the one in-flight request.
type Twilio struct {
	cfg      TwilioConfig
	endpoint string
	client   *http.Client
	clock    clock.Clock
}

// NewTwilio checks cfg and returns the provider.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("twilio: name is required")
	case !strings.HasPrefix(cfg.AccountSID, "AC"):
		return nil, fmt.Errorf("twilio %s: account_sid %q must start with AC", cfg.Name, cfg.AccountSID)
	case cfg.AuthToken.Reveal() == "":
		return nil, fmt.Errorf("twilio %s: auth_token is required", cfg.Name)
	case cfg.From == "" && cfg.MessagingServiceSID == "":
		return nil, fmt.Errorf("twilio %s: from or messaging_service_sid is required", cfg.Name)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = TwilioBaseURL
	}
	p := &Twilio{cfg: cfg, client: cfg.HTTPClient, clock: cfg.Clock,
		endpoint: base + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json"}
	if p.client == nil {
		p.client = providerhttp.NewClient(cfg.Timeout, cfg.MaxConns)
	}
	if p.clock == nil {
		p.clock = clock.System{}
	}
	return p, nil
}

// Name returns the configured name.
func (p *Twilio) Name() string { return p.cfg.Name }

// Channel is SMS.
func (p *Twilio) Channel() provider.Channel { return provider.SMS }

// Close releases idle connections.
func (p *Twilio) Close() error { p.client.CloseIdleConnections(); return nil }

// twilioError is Twilio's error body:
// https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// twilioSuppress are error codes that say the number itself cannot receive:
// 21211 invalid 'To' number, 21614 'To' is not a valid mobile number,
// 21610 the recipient replied STOP to this sender (Twilio blocks it).
var twilioSuppress = map[int]bool{21211: true, 21614: true, 21610: true}

// Send creates a Message resource.
func (p *Twilio) Send(ctx context.Context, m *provider.Message) (provider.Result, error) {
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	switch {
	case m.From != "":
		form.Set("From", m.From)
	case p.cfg.MessagingServiceSID != "":
		form.Set("MessagingServiceSid", p.cfg.MessagingServiceSID)
	default:
		form.Set("From", p.cfg.From)
	}
	if cb := firstNonEmpty(m.StatusCallback, p.cfg.StatusCallback); cb != "" {
		form.Set("StatusCallback", cb)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: err}
	}
	req.SetBasicAuth(p.cfg.AccountSID, p.cfg.AuthToken.Reveal())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return provider.Result{}, providerhttp.TransportError(ctx, p.cfg.Name, "create message", err)
	}
	defer providerhttp.Drain(resp.Body)
	body, _ := providerhttp.ReadBody(resp.Body)
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		var ok struct {
			SID string `json:"sid"`
		}
		if err := json.Unmarshal(body, &ok); err != nil || ok.SID == "" {
			// Accepted but unreadable: retrying could send twice, so this
			// is permanent and says so.
			return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "bad_answer",
				Err: fmt.Errorf("HTTP %d without a message sid: %s", resp.StatusCode, providerhttp.Snippet(body))}
		}
		return provider.Result{ProviderID: ok.SID}, nil
	}
	var te twilioError
	_ = json.Unmarshal(body, &te)
	temporary := providerhttp.TemporaryStatus(resp.StatusCode) || te.Code == 20429
	pe := &provider.Error{
		Provider:  p.cfg.Name,
		Temporary: temporary,
		// A temporary failure is Twilio's trouble: whatever code its body
		// holds, it says nothing for sure about the number.
		Suppress:   twilioSuppress[te.Code] && !temporary,
		RetryAfter: providerhttp.RetryAfter(resp.Header, p.clock.Now()),
		Code:       strconv.Itoa(te.Code),
		Err:        fmt.Errorf("HTTP %d: %s (%s)", resp.StatusCode, te.Message, te.MoreInfo),
	}
	if te.Code == 0 {
		pe.Code = strconv.Itoa(resp.StatusCode)
		pe.Err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, providerhttp.Snippet(body))
	}
	return provider.Result{}, pe
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Format prints the configuration with its secrets redacted, whatever the
// verb (see package redact).
func (c TwilioConfig) Format(f fmt.State, verb rune) { redact.Format(f, verb, c) }

// Format prints the provider as its kind and name: its fields hold
// credentials (see package redact).
func (p *Twilio) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "%s(%s)", "sms", p.cfg.Name) }

var _ provider.Provider = (*Twilio)(nil)
