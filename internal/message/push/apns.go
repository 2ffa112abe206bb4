package push

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providerhttp"
	"github.com/parcours/parcours/internal/message/redact"
)

// APNs hosts.
const (
	APNsProduction = "https://api.push.apple.com"
	APNsSandbox    = "https://api.sandbox.push.apple.com"
)

// Apple rejects a provider token older than an hour and one refreshed more
// than once every 20 minutes (TooManyProviderTokenUpdates); refreshing at
// 40 minutes keeps clear of both.
const (
	apnsTokenMinAge  = 20 * time.Minute
	apnsTokenRefresh = 40 * time.Minute
)

// apnsNamespace derives apns-id UUIDs from send keys (UUID v5), so a
// retried notification carries the same apns-id.
var apnsNamespace = uuid.MustParse("6f1c5e0a-3d1b-4b8e-9a57-2f4c3c8e9b10")

// APNsConfig configures an APNs provider with token-based authentication.
type APNsConfig struct {
	Name       string
	TeamID     string          // the 10-character Team ID (JWT iss)
	KeyID      string          // the signing key's id (JWT kid)
	PrivateKey provider.Secret // the .p8 key: PEM PKCS#8 EC P-256
	Topic      string          // the app's bundle id (apns-topic)
	Sandbox    bool            // use the development environment
	BaseURL    string          // overrides the host (tests)
	// Priority is apns-priority: 10 immediate (default), 5 power-saving.
	Priority int
	// Expiration is how long APNs stores an undeliverable notification
	// (apns-expiration = now + Expiration); 0: deliver once, do not store.
	Expiration time.Duration
	Timeout    time.Duration
	MaxConns   int
	RootCAs    *x509.CertPool // nil: the system pool
	Clock      clock.Clock
}

// APNs sends alerts over HTTP/2:
// https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns
//
//	POST /3/device/{device token}   (HTTP/2 only)
//	authorization: bearer <ES256 JWT {alg, kid} . {iss: team, iat}>
//	apns-topic, apns-push-type: alert, apns-priority, apns-id, apns-expiration
//	{"aps":{"alert":{"title":"...","body":"..."}}, "<data key>": "..."}
//
// Token auth: https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns
type APNs struct {
	cfg      APNsConfig
	base     string
	key      crypto.Signer
	client   *http.Client
	clock    clock.Clock
	mu       sync.Mutex
	token    string
	issuedAt time.Time
}

// NewAPNs checks cfg, parses the key and returns the provider.
func NewAPNs(cfg APNsConfig) (*APNs, error) {
	switch {
	case cfg.Name == "":
		return nil, errors.New("apns: name is required")
	case cfg.TeamID == "" || cfg.KeyID == "":
		return nil, fmt.Errorf("apns %s: team_id and key_id are required", cfg.Name)
	case cfg.Topic == "":
		return nil, fmt.Errorf("apns %s: topic (the bundle id) is required", cfg.Name)
	case cfg.Priority != 0 && cfg.Priority != 5 && cfg.Priority != 10:
		return nil, fmt.Errorf("apns %s: priority %d, want 5 or 10", cfg.Name, cfg.Priority)
	}
	key, err := parsePrivateKey(cfg.PrivateKey.Reveal())
	if err != nil {
		return nil, fmt.Errorf("apns %s: private_key: %w", cfg.Name, err)
	}
	if _, ok := key.(*ecdsa.PrivateKey); !ok {
		return nil, fmt.Errorf("apns %s: private_key must be an EC P-256 key (.p8)", cfg.Name)
	}
	if cfg.Priority == 0 {
		cfg.Priority = 10
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	switch {
	case base != "":
	case cfg.Sandbox:
		base = APNsSandbox
	default:
		base = APNsProduction
	}
	client := providerhttp.NewClient(cfg.Timeout, cfg.MaxConns)
	tr := client.Transport.(*http.Transport)
	tr.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
	// APNs speaks HTTP/2 only; one connection multiplexes the senders.
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP2(true)
	p := &APNs{cfg: cfg, base: base, key: key, client: client, clock: cfg.Clock}
	if p.clock == nil {
		p.clock = clock.System{}
	}
	return p, nil
}

// Name returns the configured name.
func (p *APNs) Name() string { return p.cfg.Name }

// Channel is push.
func (p *APNs) Channel() provider.Channel { return provider.Push }

// Close releases idle connections.
func (p *APNs) Close() error { p.client.CloseIdleConnections(); return nil }

// providerToken returns the current JWT, signing a new one when it is 40
// minutes old, or when force is set and it is at least 20 minutes old
// (after ExpiredProviderToken).
func (p *APNs) providerToken(force bool) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	age := now.Sub(p.issuedAt)
	if p.token != "" && age < apnsTokenRefresh && !(force && age >= apnsTokenMinAge) {
		return p.token, nil
	}
	tok, err := signJWT(map[string]string{"alg": "ES256", "kid": p.cfg.KeyID},
		map[string]any{"iss": p.cfg.TeamID, "iat": now.Unix()}, p.key)
	if err != nil {
		return "", err
	}
	p.token, p.issuedAt = tok, now
	return tok, nil
}

// APNsID is the apns-id sent for a send key: a name-based UUID, so a retry
// has the same id.
func APNsID(key string) string { return uuid.NewSHA1(apnsNamespace, []byte(key)).String() }

// Send posts one alert to m.To, a device token (hex).
func (p *APNs) Send(ctx context.Context, m *provider.Message) (provider.Result, error) {
	if m.To == "" {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: errors.New("no device token")}
	}
	payload := map[string]any{}
	for k, v := range m.Data {
		if k != "aps" {
			payload[k] = v
		}
	}
	payload["aps"] = map[string]any{"alert": map[string]string{"title": m.Title, "body": m.Body}}
	body, err := json.Marshal(payload)
	if err != nil {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: err}
	}
	token, err := p.providerToken(false)
	if err != nil {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "jwt", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/3/device/"+url.PathEscape(m.To), bytes.NewReader(body))
	if err != nil {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: err}
	}
	id := APNsID(m.Key)
	var exp int64
	if p.cfg.Expiration > 0 {
		exp = p.clock.Now().Add(p.cfg.Expiration).Unix()
	}
	req.Header.Set("authorization", "bearer "+token)
	req.Header.Set("apns-topic", p.cfg.Topic)
	req.Header.Set("apns-push-type", "alert")
	req.Header.Set("apns-priority", strconv.Itoa(p.cfg.Priority))
	req.Header.Set("apns-id", id)
	req.Header.Set("apns-expiration", strconv.FormatInt(exp, 10))
	req.Header.Set("content-type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return provider.Result{}, providerhttp.TransportError(ctx, p.cfg.Name, "send", err)
	}
	defer providerhttp.Drain(resp.Body)
	answer, _ := providerhttp.ReadBody(resp.Body)
	if resp.StatusCode == http.StatusOK {
		if got := resp.Header.Get("apns-id"); got != "" {
			id = got
		}
		return provider.Result{ProviderID: id}, nil
	}
	var ae struct {
		Reason string `json:"reason"`
	}
	_ = json.Unmarshal(answer, &ae)
	pe := &provider.Error{Provider: p.cfg.Name, Code: ae.Reason, Temporary: providerhttp.TemporaryStatus(resp.StatusCode),
		RetryAfter: providerhttp.RetryAfter(resp.Header, p.clock.Now()),
		Err:        fmt.Errorf("HTTP %d: %s", resp.StatusCode, ae.Reason)}
	if pe.Code == "" {
		pe.Code = strconv.Itoa(resp.StatusCode)
	}
	switch ae.Reason {
	case "Unregistered", "BadDeviceToken", "DeviceTokenNotForTopic":
		// Not on a 429 or 5xx: Apple's trouble says nothing for sure
		// about the device token.
		pe.Suppress = !pe.Temporary
	case "ExpiredProviderToken", "InvalidProviderToken":
		// Sign a fresh token (within Apple's 20-minute limit) and retry.
		_, _ = p.providerToken(true)
		pe.Temporary = pe.Temporary || ae.Reason == "ExpiredProviderToken"
	}
	return provider.Result{}, pe
}

// Format prints the configuration with its secrets redacted, whatever the
// verb (see package redact).
func (c APNsConfig) Format(f fmt.State, verb rune) { redact.Format(f, verb, c) }

// Format prints the provider as its kind and name: its fields hold
// credentials (see package redact).
func (p *APNs) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "%s(%s)", "push", p.cfg.Name) }

var _ provider.Provider = (*APNs)(nil)
