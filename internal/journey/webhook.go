package journey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/webhook"
)

// Caller calls the URLs of webhook steps; HTTPCaller is the real one. Like
// a Sender it may be called again with the same Key after a crash.
type Caller interface {
	Call(ctx context.Context, r WebhookRequest) error
}

// WebhookRequest is one webhook step of one enrolment; it is also the JSON
// body posted.
type WebhookRequest struct {
	URL       string    `json:"-"`
	Key       string    `json:"key"`
	Journey   string    `json:"journey_id"`
	Version   int       `json:"version"`
	Step      string    `json:"step"`
	Profile   int64     `json:"profile_id"`
	Enrolment int64     `json:"enrolment_id"`
	At        time.Time `json:"at"`
}

// ErrNoWebhookSecret refuses a webhook step when no secret signs it: a
// receiver could not tell Parcours' call from a forgery.
var ErrNoWebhookSecret = fmt.Errorf("%w: journey webhook steps are signed with the secret of the webhook provider "+
	"(type: webhook in the providers file, --providers) and none is configured", ErrRefused)

// HTTPCaller posts webhook requests as JSON, signed like the webhook
// provider's messages (internal/message/webhook): an Idempotency-Key
// header with the key, and Parcours-Signature: t=<unix>,v1=<hex
// HMAC-SHA256(Secret, t + "." + body)>, which receivers check with
// webhook.Verify. Any answer but 2xx is an error.
type HTTPCaller struct {
	Client *http.Client // default: a 10-second timeout
	// Secret signs the requests; empty: every call is refused
	// (ErrNoWebhookSecret).
	Secret provider.Secret
	Clock  clock.Clock // the signature's time; default clock.System
}

// Call posts r to its URL.
func (c HTTPCaller) Call(ctx context.Context, r WebhookRequest) error {
	if c.Secret.Reveal() == "" {
		return ErrNoWebhookSecret
	}
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", r.URL, err)
	}
	clk := c.Clock
	if clk == nil {
		clk = clock.System{}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.IdempotencyHeader, r.Key)
	req.Header.Set(webhook.SignatureHeader, webhook.Sign(c.Secret, clk.Now(), body))
	req.Header.Set("User-Agent", "parcours-journeys")
	client := c.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %s: %w", r.URL, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook %s: HTTP %d", r.URL, resp.StatusCode)
	}
	return nil
}

// refused reports whether a webhook call's error is for good.
func refused(err error) bool { return errors.Is(err, ErrRefused) }
