// Package providerhttp holds what the HTTP-based providers (sms, whatsapp,
// push, webhook) share: a tuned http.Client, response classification by
// status code, Retry-After parsing, and a bounded read of error bodies. It
// never sees credentials: callers set their own auth headers.
package providerhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/message/provider"
)

// Default timeouts. A provider API answers in well under a second; ten
// seconds bounds a stuck request without failing slow but healthy ones.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMaxConns = 64
	// maxBody bounds how much of a response is read: provider answers are
	// small, and an error page must not fill memory.
	maxBody = 64 << 10
)

// NewClient returns an http.Client for one provider: keep-alive connections
// reused across concurrent senders (maxConns idle connections per host, so
// a pool of that many workers never re-dials), bounded dial, TLS handshake
// and whole-request timeouts. maxConns <= 0 means DefaultMaxConns; timeout
// <= 0 means DefaultTimeout.
func NewClient(timeout time.Duration, maxConns int) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxConns * 2,
		MaxIdleConnsPerHost:   maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// TemporaryStatus reports whether an HTTP status means "try again later":
// 408 Request Timeout, 425 Too Early, 429 Too Many Requests and every 5xx.
func TemporaryStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooEarly ||
		code == http.StatusTooManyRequests || code >= 500
}

// MaxRetryAfter bounds the delay a provider can ask for: a message is
// not parked for years on one answer (the worker's own backoff still
// applies on top).
const MaxRetryAfter = 24 * time.Hour

// RetryAfter parses a Retry-After header: delay-seconds or an HTTP-date
// (RFC 9110 section 10.2.3), relative to now. It returns 0 when the header
// is absent, malformed or in the past, and at most MaxRetryAfter.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs <= 0 {
			return 0
		}
		// Compared in seconds: multiplied first, a large value would
		// overflow into a negative delay.
		if int64(secs) > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}

// ReadBody reads at most 64 KiB of a response body and drains the rest so
// the connection can be reused.
func ReadBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(r, maxBody))
	return b, err
}

// Drain discards what is left of a response body (bounded) and closes it,
// so keep-alive connections go back to the pool.
func Drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, maxBody))
	_ = body.Close()
}

// TransportError classifies a failure to get any answer: the caller's
// context ending is returned as is (the pipeline decides), every other
// network failure is a temporary *provider.Error. The error text is the
// operation and the cause; request URLs of providers never hold secrets.
func TransportError(ctx context.Context, name, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %s: %w", name, op, ctxErr)
	}
	// *url.Error repeats method and URL; keep only the cause.
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err
	}
	return &provider.Error{Provider: name, Temporary: true, Code: "transport", Err: fmt.Errorf("%s: %w", op, err)}
}

// Snippet shortens an answer body for an error message.
func Snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
