package message_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
)

// httpProvider is a webhook-like provider for the crash test and the
// benchmark: it POSTs each message to a URL with its send key as the
// Idempotency-Key header.
type httpProvider struct {
	url    string
	client *http.Client
}

func newHTTPProvider(url string) *httpProvider {
	return &httpProvider{url: url, client: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}}
}

func (p *httpProvider) Name() string              { return "http-fake" }
func (p *httpProvider) Channel() provider.Channel { return provider.Webhook }
func (p *httpProvider) Close() error              { return nil }

// HonoursIdempotencyKey is true, as for the webhook provider it stands for:
// the receiver counts by Idempotency-Key.
func (p *httpProvider) HonoursIdempotencyKey() bool { return true }

func (p *httpProvider) Send(ctx context.Context, m *provider.Message) (provider.Result, error) {
	body := m.Payload
	if body == nil {
		body, _ = json.Marshal(m)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return provider.Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.Key)
	resp, err := p.client.Do(req)
	if err != nil {
		return provider.Result{}, err // temporary
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return provider.Result{}, &provider.Error{Provider: p.Name(), Temporary: resp.StatusCode >= 500 || resp.StatusCode == 429,
			Code: fmt.Sprint(resp.StatusCode), Err: fmt.Errorf("status %d", resp.StatusCode)}
	}
	return provider.Result{ProviderID: resp.Header.Get("X-Message-Id")}, nil
}

// receiver counts the requests it gets by Idempotency-Key.
type receiver struct {
	mu       sync.Mutex
	byKey    map[string]int
	requests int
}

func newReceiver() *receiver { return &receiver{byKey: map[string]int{}} }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	key := req.Header.Get("Idempotency-Key")
	r.mu.Lock()
	r.byKey[key]++
	r.requests++
	n := r.requests
	r.mu.Unlock()
	w.Header().Set("X-Message-Id", fmt.Sprint("r-", n))
	w.WriteHeader(http.StatusOK)
}

func (r *receiver) counts() (requests, keys, repeated int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.byKey {
		if n > 1 {
			repeated += n - 1
		}
	}
	return r.requests, len(r.byKey), repeated
}
