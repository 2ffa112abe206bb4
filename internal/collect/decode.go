package collect

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
)

// DefaultMaxBody is the largest request body accepted, after decompression.
const DefaultMaxBody = 4 << 20

// RequestError is a problem with a whole request: the body is not a JSON
// object, the gzip stream is corrupt, the body is too large. The request is
// refused with 400 and nothing in it is stored.
type RequestError struct {
	Code   string
	Reason string
}

func (e *RequestError) Error() string { return e.Reason }

// Describe reports an invalid request of the error's code.
func (e *RequestError) Describe() problem.Problem {
	return problem.Problem{Kind: problem.KindInvalid, Code: e.Code, Message: e.Reason}
}

// Request-level error codes.
const (
	CodeBodyTooLarge    = "body_too_large"
	CodeBadGzip         = "invalid_gzip"
	CodeBadBody         = "invalid_body"
	CodeUnsupportedCode = "unsupported_encoding"
	CodeTooManyEvents   = "too_many_events"
)

// Request is a decoded ingestion request: one event (/v1/track, ...) or a
// batch (/v1/batch), with the fields that apply to all of its events.
type Request struct {
	// Events are the raw events, still to be validated one by one.
	Events []json.RawMessage
	// Scans are what splitting a batch found in each event (see
	// event.ScanObject), parallel to Events; nil for a single call.
	Scans []event.Scanned
	// Type is the type implied by the endpoint, empty for batches.
	Type         event.Type
	WriteKey     string
	SentAt       string
	Context      map[string]json.RawMessage
	Integrations map[string]json.RawMessage
}

// ReadBody reads a request body, decompressing it when the client says it is
// gzip (Content-Encoding) or when it starts with the gzip magic number
// (clients send gzipped JSON under all sorts of content types). At most
// limit bytes are accepted after decompression, which also defuses gzip
// bombs. The body is read into dst's storage when it is large enough; grow,
// if not nil, is asked for the bytes of each allocation ReadBody makes (dst
// is the caller's to account for), and its error stops the read: the memory
// budget of the requests in flight.
func ReadBody(r io.Reader, contentEncoding string, limit int64, dst []byte, grow func(int64) error) ([]byte, error) {
	// The raw body is capped too: a compressed body is never larger than
	// what it expands to, except for a few header bytes.
	body, err := readCapped(dst[:0], r, limit+1024, grow)
	if err != nil {
		return nil, err
	}
	enc := strings.ToLower(strings.TrimSpace(contentEncoding))
	gzipped := enc == "gzip" || enc == "x-gzip" || (len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b)
	switch {
	case gzipped:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, &RequestError{CodeBadGzip, "body is not valid gzip: " + err.Error()}
		}
		size := min(len(body)*4, int(limit)+1)
		if grow != nil {
			if err := grow(int64(size)); err != nil {
				return nil, err
			}
		}
		out, err := readCapped(make([]byte, 0, size), zr, limit, grow)
		if err != nil {
			if _, ok := err.(*RequestError); ok || errors.Is(err, errNoMemory) {
				return nil, err
			}
			return nil, &RequestError{CodeBadGzip, "body is not valid gzip: " + err.Error()}
		}
		body = out
	case enc != "" && enc != "identity":
		return nil, &RequestError{CodeUnsupportedCode, fmt.Sprintf("Content-Encoding %q is not supported; send gzip or nothing", contentEncoding)}
	}
	if int64(len(body)) > limit {
		return nil, tooLarge(limit)
	}
	return body, nil
}

// readCapped appends what r holds to dst, refusing more than max bytes.
func readCapped(dst []byte, r io.Reader, limit int64, grow func(int64) error) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			// Double, as append would, but never beyond what the cap allows.
			size := min(max(2*cap(dst), 16<<10), int(limit)+1)
			if size <= cap(dst) {
				return nil, tooLarge(limit)
			}
			if grow != nil {
				if err := grow(int64(size - cap(dst))); err != nil {
					return nil, err
				}
			}
			next := make([]byte, len(dst), size)
			copy(next, dst)
			dst = next
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if int64(len(dst)) > limit {
			return nil, tooLarge(limit)
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func tooLarge(max int64) error {
	return &RequestError{CodeBodyTooLarge, fmt.Sprintf("body is larger than %d bytes once decompressed; send smaller batches", max)}
}

var utf8BOM = []byte("\xef\xbb\xbf")

// Decode parses a decompressed body. typ is the type implied by the
// endpoint, or empty for the batch endpoints.
func Decode(body []byte, typ event.Type) (*Request, error) {
	body = bytes.TrimPrefix(body, utf8BOM)
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, &RequestError{CodeBadBody, "body must be a JSON object"}
	}
	req := &Request{Type: typ}
	if typ != "" {
		// A single call: the body is the event, and its own sentAt,
		// context and integrations are the event's.
		if !json.Valid(body) {
			return nil, &RequestError{CodeBadBody, "body is not valid JSON"}
		}
		var w struct {
			WriteKey json.RawMessage `json:"writeKey"`
		}
		_ = json.Unmarshal(body, &w)
		req.WriteKey, _ = jsonString(w.WriteKey)
		req.Events = []json.RawMessage{body}
		return req, nil
	}
	err := eachMember(body, func(key string, v []byte) error {
		switch key {
		case "batch":
			if string(v) == "null" {
				return nil
			}
			req.Events, req.Scans = req.Events[:0], req.Scans[:0]
			if err := eachElement(v, func(e []byte, s event.Scanned) {
				req.Events = append(req.Events, e)
				req.Scans = append(req.Scans, s)
			}); err != nil {
				return fmt.Errorf("batch: %w (it must be an array of events)", err)
			}
		case "writeKey":
			req.WriteKey, _ = jsonString(v)
		case "sentAt":
			req.SentAt, _ = jsonString(v)
		case "context":
			return decodeObject(key, v, &req.Context)
		case "integrations":
			return decodeObject(key, v, &req.Integrations)
		default:
			if !json.Valid(v) {
				return fmt.Errorf("%s: invalid JSON", key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, &RequestError{CodeBadBody, "body is not a valid batch: " + err.Error()}
	}
	return req, nil
}

func decodeObject(name string, v []byte, out *map[string]json.RawMessage) error {
	if string(v) == "null" {
		return nil
	}
	if v[0] != '{' {
		return errors.New(name + " must be a JSON object")
	}
	if err := event.CheckMember(name, v); err != nil {
		return err
	}
	if err := json.Unmarshal(v, out); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// jsonString returns the string a raw JSON value holds, if it is one.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
