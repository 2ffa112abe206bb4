package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// APIError is what the management API answered when it refused a call:
// its status and its {"error": {...}} body.
type APIError struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// recorder is the smallest http.ResponseWriter: the console reads the
// API's answer from it in process.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// call is one management API request made with the credentials of cr
// (nil: none), from the address of the browser's request (the login
// limit counts per address). body is JSON-encoded unless it is a string
// (sent as YAML-or-text as is); out, when not nil, receives the JSON
// answer.
func (c *Console) call(ctx context.Context, from *http.Request, cr *creds, method, path string, body, out any) (*recorder, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ctype = strings.NewReader(b), "application/yaml"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	if from != nil {
		req.RemoteAddr = from.RemoteAddr
		req.Header.Set("User-Agent", from.UserAgent())
		if v := from.Header.Get("X-Forwarded-For"); v != "" {
			req.Header.Set("X-Forwarded-For", v)
		}
		req.TLS = from.TLS
	}
	cr.apply(req)
	rec := &recorder{h: http.Header{}}
	c.opts.API.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 400 {
		var e struct {
			Error APIError `json:"error"`
		}
		_ = json.Unmarshal(rec.body.Bytes(), &e)
		e.Error.Status = rec.status
		if e.Error.Message == "" {
			e.Error.Message = strings.TrimSpace(rec.body.String())
		}
		return rec, &e.Error
	}
	if out != nil && rec.body.Len() > 0 {
		if err := json.Unmarshal(rec.body.Bytes(), out); err != nil {
			return rec, fmt.Errorf("console: decode %s %s: %w", method, path, err)
		}
	}
	return rec, nil
}

// get reads path (with query q) as the signed-in person.
func (c *Console) get(r *http.Request, s *session, path string, q url.Values, out any) error {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	_, err := c.call(r.Context(), r, s.creds, http.MethodGet, path, nil, out)
	return err
}

// send changes something as the signed-in person.
func (c *Console) send(r *http.Request, s *session, method, path string, body, out any) error {
	_, err := c.call(r.Context(), r, s.creds, method, path, body, out)
	return err
}
