// Package whatsapp sends messages through the WhatsApp Cloud API (Meta's
// Graph API) and parses its webhooks: the subscription handshake, message
// status notifications (receipts) and inbound messages.
package whatsapp

import (
	"bytes"
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

// Defaults of Config.
const (
	BaseURL    = "https://graph.facebook.com"
	APIVersion = "v21.0"
)

// Config configures a WhatsApp Cloud API provider.
type Config struct {
	Name          string
	PhoneNumberID string          // the business phone number's id (not the number)
	AccessToken   provider.Secret // system-user access token, sent as Bearer
	APIVersion    string          // Graph API version, default APIVersion
	BaseURL       string          // default BaseURL
	Timeout       time.Duration
	MaxConns      int
	HTTPClient    *http.Client
	Clock         clock.Clock
}

// Provider sends WhatsApp messages:
// https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
//
//	POST /{version}/{phone-number-id}/messages
//	Authorization: Bearer <token>
//	Content-Type: application/json
//	{"messaging_product":"whatsapp","recipient_type":"individual","to":"33612345678",
//	 "type":"text","text":{"preview_url":false,"body":"..."}}
//	or "type":"template","template":{"name":"...","language":{"code":"fr"},
//	 "components":[{"type":"body","parameters":[{"type":"text","text":"..."}]}]}
//
// A session (text) message is allowed only within 24 hours of the
// customer's last message; outside it the API answers 131047 and a
// template must be used. The API has no idempotency key.
type Provider struct {
	cfg      Config
	endpoint string
	client   *http.Client
	clock    clock.Clock
}

// New checks cfg and returns the provider.
func New(cfg Config) (*Provider, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("whatsapp: name is required")
	case cfg.PhoneNumberID == "":
		return nil, fmt.Errorf("whatsapp %s: phone_number_id is required", cfg.Name)
	case cfg.AccessToken.Reveal() == "":
		return nil, fmt.Errorf("whatsapp %s: access_token is required", cfg.Name)
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = APIVersion
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = BaseURL
	}
	p := &Provider{cfg: cfg, client: cfg.HTTPClient, clock: cfg.Clock,
		endpoint: base + "/" + url.PathEscape(cfg.APIVersion) + "/" + url.PathEscape(cfg.PhoneNumberID) + "/messages"}
	if p.client == nil {
		p.client = providerhttp.NewClient(cfg.Timeout, cfg.MaxConns)
	}
	if p.clock == nil {
		p.clock = clock.System{}
	}
	return p, nil
}

// Name returns the configured name.
func (p *Provider) Name() string { return p.cfg.Name }

// Channel is WhatsApp.
func (p *Provider) Channel() provider.Channel { return provider.WhatsApp }

// Close releases idle connections.
func (p *Provider) Close() error { p.client.CloseIdleConnections(); return nil }

type request struct {
	MessagingProduct string    `json:"messaging_product"`
	RecipientType    string    `json:"recipient_type"`
	To               string    `json:"to"`
	Type             string    `json:"type"`
	Text             *text     `json:"text,omitempty"`
	Template         *template `json:"template,omitempty"`
}

type text struct {
	PreviewURL bool   `json:"preview_url"`
	Body       string `json:"body"`
}

type template struct {
	Name       string      `json:"name"`
	Language   language    `json:"language"`
	Components []component `json:"components,omitempty"`
}

type language struct {
	Code string `json:"code"`
}

type component struct {
	Type       string      `json:"type"`
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Body builds the documented request body for m (exported for tests of
// callers and for previews).
func Body(m *provider.Message) ([]byte, error) {
	req := request{MessagingProduct: "whatsapp", RecipientType: "individual", To: strings.TrimPrefix(m.To, "+")}
	if t := m.Template; t != nil {
		if t.Name == "" || t.Language == "" {
			return nil, errors.New("template needs a name and a language")
		}
		req.Type = "template"
		req.Template = &template{Name: t.Name, Language: language{Code: t.Language}}
		if len(t.Params) > 0 {
			c := component{Type: "body"}
			for _, v := range t.Params {
				c.Parameters = append(c.Parameters, parameter{Type: "text", Text: v})
			}
			req.Template.Components = []component{c}
		}
	} else {
		if m.Body == "" {
			return nil, errors.New("session message has no body")
		}
		req.Type = "text"
		// WhatsApp renders a link preview only when asked; ask when the
		// text carries a link, as a person typing it would see.
		req.Text = &text{Body: m.Body, PreviewURL: strings.Contains(m.Body, "https://")}
	}
	return json.Marshal(req)
}

// graphError is the Graph API error body:
// https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
type graphError struct {
	Error struct {
		Message   string `json:"message"`
		Type      string `json:"type"`
		Code      int    `json:"code"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
		FBTraceID string `json:"fbtrace_id"`
	} `json:"error"`
}

// temporaryCodes are the documented throttling and availability codes:
// 4 and 80007 (app/WABA rate limits), 130429 (Cloud API throughput),
// 131048 (spam rate limit), 131056 (pair rate limit), 1, 2, 131000,
// 131016 (unknown error, service unavailable, something went wrong,
// service overloaded). 131047 (24-hour window closed) is permanent for
// this message: only a template can reach the customer.
var temporaryCodes = map[int]bool{1: true, 2: true, 4: true, 80007: true, 130429: true, 131048: true, 131056: true, 131000: true, 131016: true}

// Send posts one message.
func (p *Provider) Send(ctx context.Context, m *provider.Message) (provider.Result, error) {
	body, err := Body(m)
	if err != nil {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.AccessToken.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return provider.Result{}, providerhttp.TransportError(ctx, p.cfg.Name, "send message", err)
	}
	defer providerhttp.Drain(resp.Body)
	answer, _ := providerhttp.ReadBody(resp.Body)
	if resp.StatusCode == http.StatusOK {
		var ok struct {
			Messages []struct {
				ID string `json:"id"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(answer, &ok); err != nil || len(ok.Messages) == 0 || ok.Messages[0].ID == "" {
			return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "bad_answer",
				Err: fmt.Errorf("HTTP 200 without a message id: %s", providerhttp.Snippet(answer))}
		}
		return provider.Result{ProviderID: ok.Messages[0].ID}, nil
	}
	var ge graphError
	_ = json.Unmarshal(answer, &ge)
	code := ge.Error.Code
	pe := &provider.Error{
		Provider:   p.cfg.Name,
		Temporary:  providerhttp.TemporaryStatus(resp.StatusCode) || temporaryCodes[code],
		RetryAfter: providerhttp.RetryAfter(resp.Header, p.clock.Now()),
		Code:       strconv.Itoa(code),
		Err:        fmt.Errorf("HTTP %d: %s %s (fbtrace_id %s)", resp.StatusCode, ge.Error.Message, ge.Error.ErrorData.Details, ge.Error.FBTraceID),
	}
	if code == 0 {
		pe.Code = strconv.Itoa(resp.StatusCode)
		pe.Err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, providerhttp.Snippet(answer))
	}
	return provider.Result{}, pe
}

// Format prints the configuration with its secrets redacted, whatever the
// verb (see package redact).
func (c Config) Format(f fmt.State, verb rune) { redact.Format(f, verb, c) }

// Format prints the provider as its kind and name: its fields hold
// credentials (see package redact).
func (p *Provider) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "%s(%s)", "whatsapp", p.cfg.Name) }

var _ provider.Provider = (*Provider)(nil)
