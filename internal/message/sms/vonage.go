package sms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providerhttp"
	"github.com/parcours/parcours/internal/message/redact"
)

// VonageBaseURL is the Vonage (formerly Nexmo) SMS API host.
const VonageBaseURL = "https://rest.nexmo.com"

// VonageConfig configures a Vonage SMS API provider.
type VonageConfig struct {
	Name      string
	APIKey    string
	APISecret provider.Secret
	From      string // sender: number or alphanumeric id
	// Callback is the delivery-receipt webhook URL for each message
	// (otherwise the account's default applies); a message's own
	// StatusCallback wins.
	Callback   string
	BaseURL    string // default VonageBaseURL
	Timeout    time.Duration
	MaxConns   int
	HTTPClient *http.Client
	Clock      clock.Clock
}

// Vonage sends SMS with the SMS API:
// https://developer.vonage.com/en/api/sms#send-an-sms
//
//	POST /sms/json
//	Content-Type: application/x-www-form-urlencoded
//	api_key=...&api_secret=...&from=...&to=447700900000&text=...
//	&type=unicode (when the text is not GSM-7)&client-ref=<send key>&callback=...
//
// The answer is 200 with messages[].status "0" for each accepted part, or
// a non-zero status from the documented list
// (https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms).
// The credentials go in the body, never in the URL, so they cannot end up
// in access logs or error strings.
type Vonage struct {
	cfg      VonageConfig
	endpoint string
	client   *http.Client
	clock    clock.Clock
}

// NewVonage checks cfg and returns the provider.
func NewVonage(cfg VonageConfig) (*Vonage, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("vonage: name is required")
	case cfg.APIKey == "":
		return nil, fmt.Errorf("vonage %s: api_key is required", cfg.Name)
	case cfg.APISecret.Reveal() == "":
		return nil, fmt.Errorf("vonage %s: api_secret is required", cfg.Name)
	case cfg.From == "":
		return nil, fmt.Errorf("vonage %s: from is required", cfg.Name)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = VonageBaseURL
	}
	p := &Vonage{cfg: cfg, endpoint: base + "/sms/json", client: cfg.HTTPClient, clock: cfg.Clock}
	if p.client == nil {
		p.client = providerhttp.NewClient(cfg.Timeout, cfg.MaxConns)
	}
	if p.clock == nil {
		p.clock = clock.System{}
	}
	return p, nil
}

// Name returns the configured name.
func (p *Vonage) Name() string { return p.cfg.Name }

// Channel is SMS.
func (p *Vonage) Channel() provider.Channel { return provider.SMS }

// Close releases idle connections.
func (p *Vonage) Close() error { p.client.CloseIdleConnections(); return nil }

type vonageAnswer struct {
	Messages []struct {
		Status    string `json:"status"`
		MessageID string `json:"message-id"`
		ErrorText string `json:"error-text"`
	} `json:"messages"`
}

// vonageTemporary are statuses worth retrying: 1 throttled, 5 internal
// error, 9 partner quota (insufficient credit: retry after a top-up),
// 10 too many existing binds.
var vonageTemporary = map[string]bool{"1": true, "5": true, "9": true, "10": true}

// vonageSuppress are statuses about the number itself: 6 invalid message
// (unrecognised number prefix), 7 number barred, 33 number de-activated.
var vonageSuppress = map[string]bool{"6": true, "7": true, "33": true}

// ClientRef is the client-ref Vonage echoes in delivery receipts: the send
// key, hashed when longer than the documented 100 characters.
func ClientRef(key string) string {
	if len(key) <= 100 {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Send submits the message. Vonage wants numbers without the leading '+'.
func (p *Vonage) Send(ctx context.Context, m *provider.Message) (provider.Result, error) {
	form := url.Values{
		"api_key":    {p.cfg.APIKey},
		"api_secret": {p.cfg.APISecret.Reveal()},
		"from":       {strings.TrimPrefix(firstNonEmpty(m.From, p.cfg.From), "+")},
		"to":         {strings.TrimPrefix(m.To, "+")},
		"text":       {m.Body},
		"client-ref": {ClientRef(m.Key)},
	}
	if !IsGSM7(m.Body) {
		form.Set("type", "unicode")
	}
	if cb := firstNonEmpty(m.StatusCallback, p.cfg.Callback); cb != "" {
		form.Set("callback", cb)
		form.Set("status-report-req", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return provider.Result{}, providerhttp.TransportError(ctx, p.cfg.Name, "send sms", err)
	}
	defer providerhttp.Drain(resp.Body)
	body, _ := providerhttp.ReadBody(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Temporary: providerhttp.TemporaryStatus(resp.StatusCode),
			RetryAfter: providerhttp.RetryAfter(resp.Header, p.clock.Now()), Code: fmt.Sprint(resp.StatusCode),
			Err: fmt.Errorf("HTTP %d: %s", resp.StatusCode, providerhttp.Snippet(body))}
	}
	var a vonageAnswer
	if err := json.Unmarshal(body, &a); err != nil || len(a.Messages) == 0 {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "bad_answer",
			Err: fmt.Errorf("unreadable answer: %s", providerhttp.Snippet(body))}
	}
	// A long text is split into parts, each with a status; the first
	// refusal decides. Parts already accepted cannot be recalled.
	for _, part := range a.Messages {
		if part.Status != "0" {
			return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Temporary: vonageTemporary[part.Status],
				Suppress: vonageSuppress[part.Status], Code: part.Status, Err: fmt.Errorf("status %s: %s", part.Status, part.ErrorText)}
		}
	}
	if a.Messages[0].MessageID == "" {
		// Accepted, but without the id its receipts will name: retrying
		// could send twice, so this is permanent and says so.
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "bad_answer",
			Err: fmt.Errorf("accepted without a message-id: %s", providerhttp.Snippet(body))}
	}
	return provider.Result{ProviderID: a.Messages[0].MessageID}, nil
}

// Format prints the configuration with its secrets redacted, whatever the
// verb (see package redact).
func (c VonageConfig) Format(f fmt.State, verb rune) { redact.Format(f, verb, c) }

// Format prints the provider as its kind and name: its fields hold
// credentials (see package redact).
func (p *Vonage) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "%s(%s)", "sms", p.cfg.Name) }

var _ provider.Provider = (*Vonage)(nil)
