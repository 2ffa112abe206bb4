package providerhttp_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
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

// FuzzRetryAfter: whatever a provider (or anything between it and us)
// sends as Retry-After, the delay is between 0 and MaxRetryAfter; delay
// seconds within that bound are taken as they are, and an HTTP-date as
// its distance from now.
func FuzzRetryAfter(f *testing.F) {
	// RFC 9110 section 10.2.3 and what providers send (Twilio, FCM: seconds).
	for _, s := range []string{"120", "0", "-3", "Fri, 31 Dec 1999 23:59:59 GMT", "Mon, 23 Nov 2026 14:00:30 GMT",
		"Monday, 23-Nov-26 14:00:30 GMT", "Mon Nov 23 14:00:30 2026", "9300000000", "3000000000", "Fri, 31 Dec 9999 23:59:59 GMT",
		"+60", "1.5", " 60", "60 "} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		h := http.Header{}
		h.Set("Retry-After", v)
		got := providerhttp.RetryAfter(h, now)
		if got < 0 || got > providerhttp.MaxRetryAfter {
			t.Fatalf("Retry-After %q: %v, want within [0, %v]", v, got, providerhttp.MaxRetryAfter)
		}
		if secs, err := strconv.Atoi(h.Get("Retry-After")); err == nil && secs > 0 && int64(secs) <= int64(providerhttp.MaxRetryAfter/time.Second) &&
			got != time.Duration(secs)*time.Second {
			t.Fatalf("Retry-After %q: %v, want %d s", v, got, secs)
		}
		if at, err := http.ParseTime(h.Get("Retry-After")); err == nil && at.After(now) && at.Sub(now) <= providerhttp.MaxRetryAfter && got != at.Sub(now) {
			t.Fatalf("Retry-After %q: %v, want %v", v, got, at.Sub(now))
		}
	})
}
