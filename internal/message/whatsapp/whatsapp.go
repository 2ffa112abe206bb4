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
	"unicode/utf8"

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
	MessagingProduct string       `json:"messaging_product"`
	RecipientType    string       `json:"recipient_type"`
	To               string       `json:"to"`
	Type             string       `json:"type"`
	Text             *text        `json:"text,omitempty"`
	Template         *template    `json:"template,omitempty"`
	Interactive      *interactive `json:"interactive,omitempty"`
}

// interactive is a session message with reply buttons or a list:
// https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages
// https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-list-messages
type interactive struct {
	Type string `json:"type"` // button or list
	Body struct {
		Text string `json:"text"`
	} `json:"body"`
	Action action `json:"action"`
}

type action struct {
	Buttons  []button  `json:"buttons,omitempty"`
	Button   string    `json:"button,omitempty"` // the list's button label
	Sections []section `json:"sections,omitempty"`
}

type button struct {
	Type  string `json:"type"` // reply
	Reply row    `json:"reply"`
}

type section struct {
	Title string `json:"title,omitempty"`
	Rows  []row  `json:"rows"`
}

type row struct {
	ID    string `json:"id"`
	Title string `json:"title"`
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
	SubType    string      `json:"sub_type,omitempty"` // quick_reply, for a button
	Index      string      `json:"index,omitempty"`    // the button's position, "0" to "9"
	Parameters []parameter `json:"parameters"`
}

type parameter struct {
	Type    string `json:"type"`
	Text    string `json:"text,omitempty"`
	Payload string `json:"payload,omitempty"`
}

// The documented limits of quick replies (Cloud API).
const (
	maxButtons      = 3    // reply buttons under a session message
	maxButtonTitle  = 20   // characters of a reply button's title
	maxButtonID     = 256  // characters of a reply button's id
	maxRows         = 10   // rows of a list message, every section together
	maxRowTitle     = 24   // characters of a row's title
	maxRowID        = 200  // characters of a row's id
	maxListButton   = 20   // characters of the list's button label
	maxButtonBody   = 1024 // characters of a reply-buttons message's body
	maxListBody     = 4096 // characters of a list message's body
	defaultListText = "Choose"
)

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
		// The approved template's quick-reply buttons: the payload each
		// tap comes back with (its text is the template's).
		if len(m.Replies) > maxRows {
			return nil, fmt.Errorf("%d quick replies: a template has up to %d buttons", len(m.Replies), maxRows)
		}
		for i, r := range m.Replies {
			req.Template.Components = append(req.Template.Components, component{Type: "button", SubType: "quick_reply",
				Index: strconv.Itoa(i), Parameters: []parameter{{Type: "payload", Payload: r.ID}}})
		}
	} else if len(m.Replies) > 0 {
		if m.Body == "" {
			return nil, errors.New("session message has no body")
		}
		it, err := interactiveOf(m)
		if err != nil {
			return nil, err
		}
		req.Type, req.Interactive = "interactive", it
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

// interactiveOf is a session message with quick replies: reply buttons
// for up to 3, a list for up to 10; a text past the documented limits is
// an error (the API would refuse it: better said before the call).
func interactiveOf(m *provider.Message) (*interactive, error) {
	n := utf8.RuneCountInString
	it := &interactive{}
	it.Body.Text = m.Body
	switch {
	case len(m.Replies) <= maxButtons:
		if n(m.Body) > maxButtonBody {
			return nil, fmt.Errorf("a message with reply buttons has a body of %d characters: the API takes up to %d", n(m.Body), maxButtonBody)
		}
		it.Type = "button"
		for i, r := range m.Replies {
			if r.ID == "" || n(r.ID) > maxButtonID || r.Title == "" || n(r.Title) > maxButtonTitle {
				return nil, fmt.Errorf("reply button %d: an id of 1 to %d characters and a title of 1 to %d (%q)", i, maxButtonID, maxButtonTitle, r.Title)
			}
			it.Action.Buttons = append(it.Action.Buttons, button{Type: "reply", Reply: row{ID: r.ID, Title: r.Title}})
		}
	case len(m.Replies) <= maxRows:
		if n(m.Body) > maxListBody {
			return nil, fmt.Errorf("a list message has a body of %d characters: the API takes up to %d", n(m.Body), maxListBody)
		}
		it.Type = "list"
		it.Action.Button = m.ReplyButton
		if it.Action.Button == "" {
			it.Action.Button = defaultListText
		}
		if n(it.Action.Button) > maxListButton {
			return nil, fmt.Errorf("the list's button label %q: up to %d characters", it.Action.Button, maxListButton)
		}
		var rows []row
		for i, r := range m.Replies {
			if r.ID == "" || n(r.ID) > maxRowID || r.Title == "" || n(r.Title) > maxRowTitle {
				return nil, fmt.Errorf("list row %d: an id of 1 to %d characters and a title of 1 to %d (%q)", i, maxRowID, maxRowTitle, r.Title)
			}
			rows = append(rows, row{ID: r.ID, Title: r.Title})
		}
		it.Action.Sections = []section{{Rows: rows}}
	default:
		return nil, fmt.Errorf("%d quick replies: a session message takes up to %d (a list)", len(m.Replies), maxRows)
	}
	return it, nil
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
