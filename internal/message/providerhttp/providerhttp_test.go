package providerhttp_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providerhttp"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "120": 2 * time.Minute, "0": 0, "-3": 0, "soon": 0,
		"Mon, 23 Nov 2026 14:00:30 GMT": 30 * time.Second, "Mon, 23 Nov 2026 13:00:00 GMT": 0,
	} {
		h := http.Header{}
		if v != "" {
			h.Set("Retry-After", v)
		}
		if got := providerhttp.RetryAfter(h, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}

func TestTemporaryStatus(t *testing.T) {
	for code, want := range map[int]bool{200: false, 400: false, 401: false, 404: false, 408: true, 425: true, 429: true, 500: true, 503: true} {
		if providerhttp.TemporaryStatus(code) != want {
			t.Errorf("%d: %v", code, !want)
		}
	}
}

func TestTransportError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := providerhttp.TransportError(ctx, "p", "send", errors.New("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
	err := providerhttp.TransportError(context.Background(), "p", "send", errors.New("connection refused"))
	var pe *provider.Error
	if !errors.As(err, &pe) || !pe.Temporary {
		t.Fatalf("%v", err)
	}
}
