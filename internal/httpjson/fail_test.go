package httpjson_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
)

// TestFail checks the one mapping of errors to statuses, and the shape
// every client reads.
func TestFail(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		body   string
	}{
		{problem.Invalid("limit", "too big"), 400, `{"error":{"code":"invalid_request","message":"limit: too big","details":{"field":"limit","path":"limit","reason":"too big"}}}`},
		{fmt.Errorf("sqlite: %w", problem.NotFound("report", "r1")), 404, `{"error":{"code":"not_found","message":"no report r1","details":{"id":"r1","kind":"report","report":"r1"}}}`},
		{problem.ErrConflict, 409, `{"error":{"code":"conflict","message":"already exists or changed meanwhile"}}`},
		{problem.New(problem.KindMismatch, "idempotency_key_reused", "no"), 422, ``},
		{problem.New(problem.KindTooMany, "slow_down", "no"), 429, ``},
		{problem.New(problem.KindUnauthorized, "unauthorized", "no"), 401, ``},
		{problem.New(problem.KindForbidden, "forbidden", "no"), 403, ``},
		{&problem.Error{Kind: problem.KindUnavailable, Code: "not_ready", Message: "wait", RetryAfter: 1500 * time.Millisecond}, 503, `{"error":{"code":"not_ready","message":"wait"}}`},
		{fmt.Errorf("secret path /etc/x"), 500, `{"error":{"code":"internal","message":"internal error; the server log has the details"}}`},
	} {
		var logged bytes.Buffer
		w := httptest.NewRecorder()
		httpjson.Fail(w, httptest.NewRequest("GET", "/api/v1/x", nil), slog.New(slog.NewTextHandler(&logged, nil)), c.err)
		if w.Code != c.status {
			t.Errorf("%v: status %d, want %d", c.err, w.Code, c.status)
		}
		if c.body != "" && strings.TrimSpace(w.Body.String()) != c.body {
			t.Errorf("%v: body %s\nwant %s", c.err, w.Body, c.body)
		}
		var shape httpjson.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &shape); err != nil || shape.Error.Code == "" {
			t.Errorf("%v: not the error shape: %s", c.err, w.Body)
		}
		if (c.status == 500) != strings.Contains(logged.String(), "request failed") {
			t.Errorf("%v: logged %q", c.err, logged.String())
		}
		if c.status == 503 && w.Header().Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q, want 2 (rounded up)", w.Header().Get("Retry-After"))
		}
	}
	if httpjson.Status(problem.KindInternal) != http.StatusInternalServerError {
		t.Error("internal is not 500")
	}
}

// TestRequestID: a request gets an id, its own when sane, echoed on the
// answer and written with the log line of a failure.
func TestRequestID(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := httpjson.WithRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpjson.Fail(w, r, log, errors.New("disk on fire"))
	}))
	for _, c := range []struct{ sent, want string }{
		{"trace-4bf92f3577b34da6a3ce929d0e0e4736", "trace-4bf92f3577b34da6a3ce929d0e0e4736"},
		{"", ""},
		{"bad id\nwith a forged=line", ""},
	} {
		logs.Reset()
		req := httptest.NewRequest("POST", "/v1/track", nil)
		if c.sent != "" {
			req.Header.Set(httpjson.RequestIDHeader, c.sent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(httpjson.RequestIDHeader)
		if c.want != "" && got != c.want || c.want == "" && (len(got) != 24 || got == c.sent) {
			t.Errorf("sent %q: answered id %q", c.sent, got)
		}
		if !strings.Contains(logs.String(), "request_id="+got) {
			t.Errorf("sent %q: the log line lacks request_id=%s: %s", c.sent, got, logs.String())
		}
	}
}
