package journey

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
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

// HTTPCaller posts webhook requests as JSON, with the key in an
// Idempotency-Key header; any answer but 2xx is an error.
type HTTPCaller struct {
	Client *http.Client // default: a 10-second timeout
}

// Call posts r to its URL.
func (c HTTPCaller) Call(ctx context.Context, r WebhookRequest) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook %s: %w", r.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", r.Key)
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
