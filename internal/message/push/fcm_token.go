package push

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providerhttp"
	"github.com/parcours/parcours/internal/message/redact"
)

// fcmScope is the OAuth 2.0 scope of the FCM HTTP v1 API.
const fcmScope = "https://www.googleapis.com/auth/firebase.messaging"

// ServiceAccount is the part of a Google service-account key file
// (the JSON downloaded from the console) that signing needs.
type ServiceAccount struct {
	Type         string          `json:"type"`
	ProjectID    string          `json:"project_id"`
	PrivateKeyID string          `json:"private_key_id"`
	PrivateKey   provider.Secret `json:"private_key"`
	ClientEmail  string          `json:"client_email"`
	TokenURI     string          `json:"token_uri"`
}

// ParseServiceAccount decodes a service-account key file. The key itself
// is kept as a provider.Secret and never printed.
func ParseServiceAccount(b []byte) (ServiceAccount, error) {
	var sa ServiceAccount
	if err := json.Unmarshal(b, &sa); err != nil {
		return ServiceAccount{}, fmt.Errorf("service account: decode JSON: %w", err)
	}
	switch {
	case sa.Type != "service_account":
		return ServiceAccount{}, fmt.Errorf("service account: type %q, want service_account", sa.Type)
	case sa.ClientEmail == "" || sa.PrivateKey == "" || sa.TokenURI == "":
		return ServiceAccount{}, errors.New("service account: client_email, private_key and token_uri are required")
	}
	return sa, nil
}

// tokenSource gets OAuth 2.0 access tokens with the JWT bearer grant
// (RFC 7523) as Google documents for service accounts
// (https://developers.google.com/identity/protocols/oauth2/service-account#httprest):
// an RS256 JWT {iss: client_email, scope, aud: token_uri, iat, exp<=1h}
// POSTed as assertion with grant_type
// urn:ietf:params:oauth:grant-type:jwt-bearer. The token is cached until a
// minute before it expires; concurrent senders wait for one exchange.
type tokenSource struct {
	sa     ServiceAccount
	key    crypto.Signer
	client *http.Client
	clock  clock.Clock

	mu      sync.Mutex // held during an exchange, so only one runs
	token   string
	expires time.Time
}

func newTokenSource(sa ServiceAccount, client *http.Client, clk clock.Clock) (*tokenSource, error) {
	key, err := parsePrivateKey(sa.PrivateKey.Reveal())
	if err != nil {
		return nil, fmt.Errorf("service account %s: %w", sa.ClientEmail, err)
	}
	return &tokenSource{sa: sa, key: key, client: client, clock: clk}, nil
}

// Token returns a valid access token, exchanging a new assertion if needed.
func (ts *tokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	now := ts.clock.Now()
	if ts.token != "" && now.Before(ts.expires) {
		return ts.token, nil
	}
	claims := map[string]any{"iss": ts.sa.ClientEmail, "scope": fcmScope, "aud": ts.sa.TokenURI,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	assertion, err := signJWT(map[string]string{"alg": "RS256", "typ": "JWT", "kid": ts.sa.PrivateKeyID}, claims, ts.key)
	if err != nil {
		return "", fmt.Errorf("sign assertion: %w", err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.sa.TokenURI, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := ts.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("token exchange: %w", err)
	}
	defer providerhttp.Drain(resp.Body)
	body, _ := providerhttp.ReadBody(resp.Body)
	if resp.StatusCode != http.StatusOK {
		// The answer is {"error":"invalid_grant","error_description":...};
		// it never contains the assertion.
		return "", fmt.Errorf("token exchange: HTTP %d: %s", resp.StatusCode, providerhttp.Snippet(body))
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("token exchange: answer has no access_token")
	}
	ts.token = tok.AccessToken
	ts.expires = now.Add(time.Duration(tok.ExpiresIn)*time.Second - time.Minute)
	return ts.token, nil
}

// invalidate drops a token the API refused before its expiry.
func (ts *tokenSource) invalidate(token string) {
	ts.mu.Lock()
	if ts.token == token {
		ts.token = ""
	}
	ts.mu.Unlock()
}

// Format prints the configuration with its secrets redacted, whatever the
// verb (see package redact).
func (c ServiceAccount) Format(f fmt.State, verb rune) { redact.Format(f, verb, c) }
