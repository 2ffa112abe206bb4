package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/server"
)

// hostile is one row of a hostile-input table: a request and what the
// server must answer. Each family of endpoints has its table
// (hostile_*_test.go); runHostile sends the rows through the real server.
type hostile struct {
	name   string
	method string
	path   string
	// auth is "admin" (the admin key), "write" (the web source's write
	// key), or "" (none); header adds or overrides headers.
	auth   string
	header map[string]string
	body   []byte
	// truncated, when set, sends the request by hand on a connection
	// whose Content-Length claims this many bytes more than body holds,
	// then closes its sending side: a client that died mid-body.
	truncated int
	// stall, with truncated, keeps the connection open instead: a body
	// that stops arriving.
	stall  bool
	status int
	// code is the error's code in {"error": {"code", ...}}; "" for an
	// answer that is not a JSON error (a page, a provider's reply).
	code string
	// says are substrings the answer must hold: what is wrong, where
	// (the field or parameter) and why. For a JSON error they are looked
	// for in its message and details, for any other answer in its body.
	says []string
}

// logSink keeps a server's log, to find what no status shows (a panic
// recovered into a 500 is one; so is an error logged for a client's
// mistake).
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// withLog sends the server's log to sink.
func withLog(sink *logSink) func(*server.Options) {
	return func(o *server.Options) { o.Logger = slog.New(slog.NewTextHandler(sink, nil)) }
}

// runHostile sends each row and checks its answer: the exact status, the
// error code, what the error says, and that the body is what its content
// type claims. After the rows, the server's log must hold no panic.
func (h *harness) runHostile(t *testing.T, log *logSink, rows []hostile) {
	t.Helper()
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			status, ctype, raw := h.send(row)
			text := string(raw)
			if status != row.status {
				t.Fatalf("%s %.120q: %d %.600s; want %d", row.method, row.path, status, text, row.status)
			}
			if row.code != "" {
				var out struct {
					Error struct {
						Code    string          `json:"code"`
						Message string          `json:"message"`
						Details json.RawMessage `json:"details"`
					} `json:"error"`
				}
				if !strings.HasPrefix(ctype, "application/json") || json.Unmarshal(raw, &out) != nil {
					t.Fatalf("%s %.120q: %q %.600s; want a JSON error", row.method, row.path, ctype, text)
				}
				if out.Error.Code != row.code || out.Error.Message == "" {
					t.Fatalf("%s %.120q: error %.600s; want code %s and a message", row.method, row.path, text, row.code)
				}
				text = out.Error.Message + " " + string(out.Error.Details)
			}
			for _, s := range row.says {
				if !strings.Contains(text, s) {
					t.Errorf("%s %.120q: answer %.600s does not say %q", row.method, row.path, text, s)
				}
			}
			if len(raw) > 64<<10 {
				t.Errorf("%s %.120q: a %d-byte answer: an error must not echo a hostile input whole", row.method, row.path, len(raw))
			}
		})
	}
	if log != nil && strings.Contains(log.String(), "panicked") {
		t.Fatalf("a handler panicked:\n%s", log.String())
	}
}

// send sends a row and returns the status, content type and body.
func (h *harness) send(row hostile) (int, string, []byte) {
	h.t.Helper()
	if row.truncated > 0 {
		return h.sendTruncated(row)
	}
	req, err := http.NewRequest(row.method, h.http.URL+row.path, bytes.NewReader(row.body))
	if err != nil {
		h.t.Fatalf("%s: %v", row.name, err)
	}
	switch row.auth {
	case "admin":
		req.Header.Set("Authorization", "Bearer "+h.admin)
	case "write":
		req.Header.Set("Authorization", basic(h.src.WriteKey+":"))
	}
	for k, v := range row.header {
		req.Header.Set(k, v)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s: %v", row.name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), raw
}

// nest returns a JSON value nested levels deep in arrays.
func nest(levels int) string {
	return strings.Repeat("[", levels) + "1" + strings.Repeat("]", levels)
}

// sendTruncated writes the row's request on a raw connection, its body
// cut short of its Content-Length, and reads the answer.
func (h *harness) sendTruncated(row hostile) (int, string, []byte) {
	h.t.Helper()
	conn, err := net.Dial("tcp", h.http.Listener.Addr().String())
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: parcours\r\nContent-Length: %d\r\n", row.method, row.path, len(row.body)+row.truncated)
	switch row.auth {
	case "admin":
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", h.admin)
	case "write":
		fmt.Fprintf(&b, "Authorization: %s\r\n", basic(h.src.WriteKey+":"))
	}
	for k, v := range row.header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	b.Write(row.body)
	if _, err := conn.Write(b.Bytes()); err != nil {
		h.t.Fatal(err)
	}
	if !row.stall {
		conn.(*net.TCPConn).CloseWrite()
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		h.t.Fatalf("%s: no answer to a truncated body: %v", row.name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), raw
}
