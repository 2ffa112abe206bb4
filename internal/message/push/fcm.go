package push

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

// FCMBaseURL is the FCM HTTP v1 API host.
const FCMBaseURL = "https://fcm.googleapis.com"

// FCMConfig configures an FCM provider.
type FCMConfig struct {
	Name string
	// ServiceAccount is the parsed key file (ParseServiceAccount); its
	// project_id is the default ProjectID and its token_uri is where
	// access tokens are obtained.
	ServiceAccount ServiceAccount
	ProjectID      string
	BaseURL        string // default FCMBaseURL
	Timeout        time.Duration
	MaxConns       int
	HTTPClient     *http.Client
	Clock          clock.Clock
}

// FCM sends notifications with the HTTP v1 API:
// https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages/send
//
//	POST /v1/projects/{project}/messages:send
//	Authorization: Bearer <OAuth 2.0 access token>
//	{"message":{"token":"...","notification":{"title":"...","body":"..."},"data":{...}}}
//
// It answers {"name":"projects/{project}/messages/{id}"}, or an error
// whose details carry an FcmError errorCode
// (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode).
type FCM struct {
	cfg      FCMConfig
	endpoint string
	client   *http.Client
	clock    clock.Clock
	tokens   *tokenSource
}

// NewFCM checks cfg, parses the service-account key and returns the provider.
func NewFCM(cfg FCMConfig) (*FCM, error) {
	if cfg.Name == "" {
		return nil, errors.New("fcm: name is required")
	}
	if cfg.ProjectID == "" {
		cfg.ProjectID = cfg.ServiceAccount.ProjectID
	}
	if cfg.ProjectID == "" {
		return nil, fmt.Errorf("fcm %s: project_id is required (in the config or the service account)", cfg.Name)
	}
	if cfg.ServiceAccount.ClientEmail == "" || cfg.ServiceAccount.TokenURI == "" {
		return nil, fmt.Errorf("fcm %s: service account needs client_email and token_uri", cfg.Name)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = FCMBaseURL
	}
	p := &FCM{cfg: cfg, client: cfg.HTTPClient, clock: cfg.Clock,
		endpoint: base + "/v1/projects/" + url.PathEscape(cfg.ProjectID) + "/messages:send"}
	if p.client == nil {
		p.client = providerhttp.NewClient(cfg.Timeout, cfg.MaxConns)
	}
	if p.clock == nil {
		p.clock = clock.System{}
	}
	ts, err := newTokenSource(cfg.ServiceAccount, p.client, p.clock)
	if err != nil {
		return nil, fmt.Errorf("fcm %s: %w", cfg.Name, err)
	}
	p.tokens = ts
	return p, nil
}

// Name returns the configured name.
func (p *FCM) Name() string { return p.cfg.Name }

// Channel is push.
func (p *FCM) Channel() provider.Channel { return provider.Push }

// Close releases idle connections.
func (p *FCM) Close() error { p.client.CloseIdleConnections(); return nil }

type fcmRequest struct {
	Message fcmMessage `json:"message"`
}

type fcmMessage struct {
	Token        string            `json:"token"`
	Notification *fcmNotification  `json:"notification,omitempty"`
	Data         map[string]string `json:"data,omitempty"`
}

type fcmNotification struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
}

type fcmError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Details []struct {
			Type      string `json:"@type"`
			ErrorCode string `json:"errorCode"`
		} `json:"details"`
	} `json:"error"`
}

// fcmErrorType is the details entry that carries the FCM error code; an
// INVALID_ARGUMENT there (rather than a google.rpc.BadRequest) is the
// documented answer to an invalid registration token.
const fcmErrorType = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

// Send posts one message to m.To, a registration token.
func (p *FCM) Send(ctx context.Context, m *provider.Message) (provider.Result, error) {
	if m.To == "" {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: errors.New("no registration token")}
	}
	msg := fcmMessage{Token: m.To, Data: m.Data}
	if m.Title != "" || m.Body != "" {
		msg.Notification = &fcmNotification{Title: m.Title, Body: m.Body}
	}
	body, err := json.Marshal(fcmRequest{Message: msg})
	if err != nil {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: err}
	}
	token, err := p.tokens.Token(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return provider.Result{}, fmt.Errorf("%s: %w", p.cfg.Name, ctx.Err())
		}
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Temporary: true, Code: "oauth", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "invalid", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := p.client.Do(req)
	if err != nil {
		return provider.Result{}, providerhttp.TransportError(ctx, p.cfg.Name, "send", err)
	}
	defer providerhttp.Drain(resp.Body)
	answer, _ := providerhttp.ReadBody(resp.Body)
	if resp.StatusCode == http.StatusOK {
		var ok struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(answer, &ok); err != nil || ok.Name == "" {
			return provider.Result{}, &provider.Error{Provider: p.cfg.Name, Code: "bad_answer", Err: fmt.Errorf("HTTP 200 without a name: %s", providerhttp.Snippet(answer))}
		}
		return provider.Result{ProviderID: ok.Name}, nil
	}
	var fe fcmError
	_ = json.Unmarshal(answer, &fe)
	code := fe.Error.Status
	for _, d := range fe.Error.Details {
		if d.Type == fcmErrorType && d.ErrorCode != "" {
			code = d.ErrorCode
		}
	}
	if code == "" {
		code = strconv.Itoa(resp.StatusCode)
	}
	pe := &provider.Error{Provider: p.cfg.Name, Code: code, RetryAfter: providerhttp.RetryAfter(resp.Header, p.clock.Now()),
		Temporary: providerhttp.TemporaryStatus(resp.StatusCode),
		Err:       fmt.Errorf("HTTP %d: %s", resp.StatusCode, fe.Error.Message)}
	switch {
	case pe.Temporary:
		// Google's trouble (429, 5xx): whatever code the body holds, it
		// says nothing for sure about the token.
	case code == "UNREGISTERED" || code == "SENDER_ID_MISMATCH":
		// The app was uninstalled or the token belongs to another project.
		pe.Suppress = true
	case code == "INVALID_ARGUMENT" && resp.StatusCode == http.StatusBadRequest && fcmDetail(fe):
		pe.Suppress = true
	case resp.StatusCode == http.StatusUnauthorized && code != "THIRD_PARTY_AUTH_ERROR":
		// Our access token was refused (revoked, clock skew): get a new one.
		p.tokens.invalidate(token)
		pe.Temporary = true
	}
	return provider.Result{}, pe
}

func fcmDetail(fe fcmError) bool {
	for _, d := range fe.Error.Details {
		if d.Type == fcmErrorType {
			return true
		}
	}
	return false
}

// Format prints the configuration with its secrets redacted, whatever the
// verb (see package redact).
func (c FCMConfig) Format(f fmt.State, verb rune) { redact.Format(f, verb, c) }

// Format prints the provider as its kind and name: its fields hold
// credentials (see package redact).
func (p *FCM) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "%s(%s)", "push", p.cfg.Name) }

var _ provider.Provider = (*FCM)(nil)
