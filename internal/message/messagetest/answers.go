package messagetest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/parcours/parcours/internal/message/provider"
	"github.com/parcours/parcours/internal/message/providerhttp"
)

// Answer is what a provider's API answers a send: the status, a
// Retry-After header when not empty, and the body.
type Answer struct {
	Status     int
	RetryAfter string
	Body       []byte
}

// AnswerServer is a provider API that answers every request with the
// Answer last set, for the fuzz targets of providers' answer parsing.
type AnswerServer struct {
	*httptest.Server
	mu     sync.Mutex
	answer Answer
}

// NewAnswerServer starts an AnswerServer answering 200 with no body,
// over HTTP/2 and TLS when h2 is set (APNs); the caller closes it.
func NewAnswerServer(h2 bool) *AnswerServer {
	s := &AnswerServer{answer: Answer{Status: http.StatusOK}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		a := s.answer
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if a.RetryAfter != "" {
			w.Header().Set("Retry-After", a.RetryAfter)
		}
		w.WriteHeader(a.Status)
		_, _ = w.Write(a.Body)
	}))
	if h2 {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Start()
	}
	return s
}

// Set makes a the answer to the next requests. Its status is brought into
// 200-599, what a provider's API answers a send with.
func (s *AnswerServer) Set(a Answer) Answer {
	if a.Status < 200 || a.Status > 599 {
		a.Status = 200 + (a.Status%400+400)%400
	}
	s.mu.Lock()
	s.answer = a
	s.mu.Unlock()
	return a
}

// CheckAnswer holds a provider's reading of answer a to what the message
// pipeline relies on: a send is either accepted with the provider's id for
// the message (its receipts are matched by it) or refused with a
// classified *provider.Error of this provider; an error is never both
// temporary and a reason to suppress the address; a provider's Retry-After
// is bounded; a 408, 425, 429 or 5xx answer is temporary.
func CheckAnswer(t testing.TB, name string, a Answer, res provider.Result, err error) {
	t.Helper()
	if err == nil {
		if res.ProviderID == "" {
			t.Fatalf("%s: answer %d %q accepted without an id for the message: its receipts could never be matched", name, a.Status, a.Body)
		}
		if a.Status < 200 || a.Status > 299 {
			t.Fatalf("%s: answer %d %q accepted", name, a.Status, a.Body)
		}
		return
	}
	if res.ProviderID != "" {
		t.Fatalf("%s: answer %d %q: an id %q and an error %v", name, a.Status, a.Body, res.ProviderID, err)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Provider != name {
		t.Fatalf("%s: answer %d %q: error %v (%T) is not this provider's *provider.Error", name, a.Status, a.Body, err, err)
	}
	if pe.Temporary && pe.Suppress {
		t.Fatalf("%s: answer %d %q: error both temporary and suppressing the address: %v", name, a.Status, a.Body, err)
	}
	if pe.RetryAfter < 0 || pe.RetryAfter > providerhttp.MaxRetryAfter {
		t.Fatalf("%s: answer %d Retry-After %q: delay %v", name, a.Status, a.RetryAfter, pe.RetryAfter)
	}
	if providerhttp.TemporaryStatus(a.Status) && !pe.Temporary {
		t.Fatalf("%s: answer %d %q: permanent error %v", name, a.Status, a.Body, err)
	}
}
