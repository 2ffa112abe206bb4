package collect

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
)

type oneSource struct{ src *source.Source }

func (o oneSource) SourceByWriteKey(_ context.Context, key string) (*source.Source, error) {
	if key == o.src.WriteKey {
		return o.src, nil
	}
	return nil, store.ErrNotFound
}

type failingSink struct{ err error }

func (f failingSink) Submit(context.Context, []*event.Event, []*event.Rejection) error { return f.err }

func TestHandlerOverloadAndFailure(t *testing.T) {
	src, _ := source.New("Web", "web", "", time.Now())
	clk := clock.System{}
	cases := []struct {
		name       string
		err        error
		status     int
		retryAfter string
	}{
		{"queue full", ErrOverloaded, 503, "1"},
		{"shutting down", ErrClosed, 503, "5"},
		{"store down", context.DeadlineExceeded, 503, "5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := NewHandler(NewKeys(oneSource{src}, clk, time.Second), NewIngester(failingSink{c.err}, nil, nil), clk, nil, HandlerOptions{})
			req := httptest.NewRequest("POST", "/v1/track", strings.NewReader(`{"userId":"u","event":"X"}`))
			req.SetBasicAuth(src.WriteKey, "")
			rec := httptest.NewRecorder()
			h.Calls(event.Track).ServeHTTP(rec, req)
			if rec.Code != c.status || rec.Header().Get("Retry-After") != c.retryAfter || !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("got %d Retry-After=%q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
			}
		})
	}
}

func TestHandlerRefusesWhenTooManyInFlight(t *testing.T) {
	src, _ := source.New("Web", "web", "", time.Now())
	clk := clock.System{}
	h := NewHandler(NewKeys(oneSource{src}, clk, time.Second), NewIngester(Discard{}, nil, nil), clk, nil, HandlerOptions{MaxInFlight: 1})
	h.keyed.inUse.Store(1) // one request is being served
	req := httptest.NewRequest("POST", "/v1/track", strings.NewReader(`{"userId":"u","event":"X"}`))
	req.SetBasicAuth(src.WriteKey, "")
	rec := httptest.NewRecorder()
	h.Calls(event.Track).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Retry-After"))
	}
}
