package server_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/sqlite"
	"github.com/parcours/parcours/internal/unify"
)

// harness is a running server on a fresh embedded store, with one web
// source and the admin key.
type harness struct {
	t      testing.TB
	st     store.Store
	srv    *server.Server
	http   *httptest.Server
	clock  *clock.Fake
	src    *source.Source
	admin  string
	client *http.Client
	opts   []func(*server.Options) // the server's options, for a restart
}

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func newHarness(t testing.TB, opts ...func(*server.Options)) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, clock: clock.NewFake(now), client: &http.Client{
		// A redirect must be seen as such, never followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	if h.admin, err = server.EnsureAdminKey(ctx, st, dir, now); err != nil {
		t.Fatal(err)
	}
	h.src, _ = source.New("Web shop", "web", "", now)
	if err := st.CreateSource(ctx, h.src); err != nil {
		t.Fatal(err)
	}
	o := server.Options{Clock: h.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, f := range opts {
		f(&o)
	}
	h.srv = server.New(st, o)
	h.srv.Start()
	h.http = httptest.NewServer(observe(h.srv.Handler()))
	requestedMu.Lock()
	table = h.srv.Routes()
	requestedMu.Unlock()
	t.Cleanup(func() {
		h.http.Close()
		h.srv.Close()
		st.Close()
	})
	return h
}

// basic returns the Authorization header for a write key.
func basic(user string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user))
}

// do sends a request and returns the status, headers and decoded JSON body.
func (h *harness) do(method, path string, body []byte, header map[string]string) (int, http.Header, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.http.URL+path, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			h.t.Fatalf("%s %s: response is not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// raw sends a request and returns the status and the body as it is.
func (h *harness) raw(method, path, body string, header map[string]string) (int, string) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.http.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ingest posts body to path with the source's write key.
func (h *harness) ingest(path, body string) (int, map[string]any) {
	h.t.Helper()
	code, _, out := h.do("POST", path, []byte(body), map[string]string{"Authorization": basic(h.src.WriteKey + ":")})
	return code, out
}

// api calls the management API with the admin key.
func (h *harness) api(path string) (int, map[string]any) {
	h.t.Helper()
	code, _, out := h.do("GET", path, nil, map[string]string{"Authorization": "Bearer " + h.admin})
	return code, out
}

// events returns the events clients sent (not Parcours' own), oldest first.
func (h *harness) events() []*event.Event {
	h.t.Helper()
	list, err := h.st.ReadAfter(context.Background(), 0, 100000)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*event.Event
	for _, e := range list {
		if e.SourceID != unify.SourceID {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) messageIDs() []string {
	var ids []string
	for _, e := range h.events() {
		ids = append(ids, e.MessageID)
	}
	return ids
}
