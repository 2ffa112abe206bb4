package collect_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/collect"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
)

// rig is the tracking API over a real store and group committer, served on
// a real TCP listener: deadlines and slow clients behave as in production.
type rig struct {
	t      *testing.T
	st     store.Store
	src    *source.Source
	h      *collect.Handler
	clock  *clock.Fake
	server *httptest.Server
}

func newRig(t *testing.T, st store.Store, o collect.HandlerOptions, wrap ...func(net.Listener) net.Listener) *rig {
	t.Helper()
	ctx := context.Background()
	r := &rig{t: t, st: st, clock: clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))}
	r.src, _ = source.New("Web shop", "web", "", r.clock.Now())
	if err := st.CreateSource(ctx, r.src); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := collect.NewCommitter(st, collect.CommitterOptions{Logger: quiet})
	go c.Run()
	o.Logger = quiet
	metrics := collect.NewMetrics(prometheus.NewRegistry())
	r.h = collect.NewHandler(collect.NewKeys(st, r.clock, time.Minute), collect.NewIngester(c, metrics, quiet), r.clock, metrics, o)
	r.server = httptest.NewUnstartedServer(tracking(r.h))
	for _, w := range wrap {
		r.server.Listener = w(r.server.Listener)
	}
	r.server.Start()
	t.Cleanup(func() {
		r.server.CloseClientConnections()
		r.server.Close()
		c.Close()
	})
	return r
}

func (r *rig) auth() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(r.src.WriteKey+":"))
}

// post sends body with the write key in the header, on a new connection,
// and returns the status, the Retry-After header and the decoded body.
func (r *rig) post(path, body string) (int, string, map[string]any) {
	r.t.Helper()
	req, _ := http.NewRequest("POST", r.server.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", r.auth())
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		r.t.Fatalf("POST %s: %d, not JSON: %q", path, resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), out
}

// postMaybe is post for a connection that may be refused: code 0 then.
func (r *rig) postMaybe(path, body string) (int, string, map[string]any) {
	req, _ := http.NewRequest("POST", r.server.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", r.auth())
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header.Get("Retry-After"), out
}

// stalled opens a connection and sends a request whose body never comes
// in full: headers, then the first bytes of a body of length bytes. The
// caller closes it.
func (r *rig) stalled(path string, header map[string]string, length int, first string) net.Conn {
	r.t.Helper()
	conn, err := net.Dial("tcp", r.server.Listener.Addr().String())
	if err != nil {
		r.t.Fatal(err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n", path, length)
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n" + first)
	if _, err := conn.Write(b.Bytes()); err != nil {
		r.t.Fatal(err)
	}
	return conn
}

// response reads the answer to a request sent on conn.
func response(t *testing.T, conn net.Conn) (int, map[string]any) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// waitFor polls cond: the handler's pools fill as the server reads the
// stalled requests' headers, which the test cannot observe otherwise.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func errorMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// tracking routes the paths these tests call as the server's route table
// does (httpapi.Routes; internal/server tests the whole table).
func tracking(h *collect.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/v1/track", h.Calls(event.Track))
	mux.Handle("/v1/identify", h.Calls(event.Identify))
	mux.Handle("/v1/batch", h.Calls(""))
	mux.HandleFunc("/", collect.NoSuchEndpoint)
	return mux
}
