// Package webhook delivers messages as signed HTTP POSTs to a configured
// URL, for any service Parcours has no dedicated provider for, and parses
// the signed receipts such services send back.
//
// Wire format (documented for receivers in docs/providers.md):
//
//	POST <url>
//	Content-Type: application/json
//	Idempotency-Key: <send key>
//	Parcours-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>
//
// 2xx is acceptance (an optional JSON answer {"id": "..."} names the
// receiver's own id for later receipts); 408/429/5xx are temporary
// (Retry-After honoured); any other status is permanent.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providerhttp"
	"github.com/parcours/parcours/internal/message/redact"
)

// Config configures a webhook provider.
type Config struct {
	Name    string
	Channel provider.Channel // default provider.Webhook
	URL     string           // where messages are POSTed (http or https)
	Secret  provider.Secret  // HMAC key shared with the receiver
	// Timeout bounds one request (default 10s); MaxConns is the number of
	// keep-alive connections kept for concurrent senders (default 64).
	Timeout  time.Duration
	MaxConns int
	// HTTPClient replaces the client built from Timeout and MaxConns.
	HTTPClient *http.Client
	Clock      clock.Clock // default clock.System
}

// Provider POSTs signed messages to one URL.
type Provider struct {
	cfg    Config
	client *http.Client
	clock  clock.Clock
}

// New checks cfg and returns the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.Name == "" {
		return nil, errors.New("webhook: name is required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook %s: url %q must be an absolute http(s) URL", cfg.Name, cfg.URL)
	}
	if cfg.Secret.Reveal() == "" {
		return nil, fmt.Errorf("webhook %s: secret is required to sign requests", cfg.Name)
	}
	if cfg.Channel == "" {
		cfg.Channel = provider.Webhook
	}
	p := &Provider{cfg: cfg, client: cfg.HTTPClient, clock: cfg.Clock}
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

// Channel returns the configured channel (webhook by default).
func (p *Provider) Channel() provider.Channel { return p.cfg.Channel }

// HonoursIdempotencyKey is true: the wire format asks receivers to drop a
// request whose Idempotency-Key they have seen, so after a crash the
// pipeline resends a message whose call was in flight (a receiver that
// ignores the header gets that one twice).
func (p *Provider) HonoursIdempotencyKey() bool { return true }

// Close releases idle connections.
func (p *Provider) Close() error {
	p.client.CloseIdleConnections()
	return nil
}

// envelope is the default body when a message carries no Payload.
type envelope struct {
	Key     string            `json:"key"`
	Channel provider.Channel  `json:"channel"`
	To      string            `json:"to,omitempty"`
	From    string            `json:"from,omitempty"`
	Subject string            `json:"subject,omitempty"`
	Title   string            `json:"title,omitempty"`
	Body    string            `json:"body,omitempty"`
	HTML    string            `json:"html,omitempty"`
	Text    string            `json:"text,omitempty"`
	Data    map[string]string `json:"data,omitempty"`
}

// Send POSTs the message (its Payload, or the message as JSON) signed.
func (p *Provider) Send(ctx context.Context, m *provider.Message) (provider.Result, error) {
	if m.Key == "" {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: errors.New("message has no send key")}
	}
	body := []byte(m.Payload)
	if len(body) == 0 {
		var err error
		body, err = json.Marshal(envelope{Key: m.Key, Channel: m.Channel, To: m.To, From: m.From, Subject: m.Subject,
			Title: m.Title, Body: m.Body, HTML: m.HTML, Text: m.Text, Data: m.Data})
		if err != nil {
			return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: fmt.Errorf("encode message: %w", err)}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parcours-Webhook/1")
	req.Header.Set(IdempotencyHeader, m.Key)
	req.Header.Set(SignatureHeader, Sign(p.cfg.Secret, p.clock.Now(), body))
	resp, err := p.client.Do(req)
	if err != nil {
		return provider.Result{}, providerhttp.TransportError(ctx, p.cfg.Name, "POST webhook", err)
	}
	defer providerhttp.Drain(resp.Body)
	answer, _ := providerhttp.ReadBody(resp.Body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		var ack struct {
			ID string `json:"id"`
		}
		// The answer is optional; without an id, receipts refer to the key.
		if json.Unmarshal(answer, &ack) == nil && ack.ID != "" {
			return provider.Result{ProviderID: ack.ID}, nil
		}
		return provider.Result{ProviderID: m.Key}, nil
	}
	return provider.Result{}, &provider.Error{
		Provider:   p.cfg.Name,
		Temporary:  providerhttp.TemporaryStatus(resp.StatusCode),
		RetryAfter: providerhttp.RetryAfter(resp.Header, p.clock.Now()),
		Code:       strconv.Itoa(resp.StatusCode),
		Err:        fmt.Errorf("receiver answered %s: %s", resp.Status, providerhttp.Snippet(answer)),
	}
}

// Format prints the configuration with its secrets redacted, whatever the
// verb (see package redact).
func (c Config) Format(f fmt.State, verb rune) { redact.Format(f, verb, c) }

// Format prints the provider as its kind and name: its fields hold
// credentials (see package redact).
func (p *Provider) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "%s(%s)", "webhook", p.cfg.Name) }

var _ provider.Provider = (*Provider)(nil)
