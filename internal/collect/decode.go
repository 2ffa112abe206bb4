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

// Request-level error codes.
const (
	CodeBodyTooLarge    = "body_too_large"
	CodeBadGzip         = "invalid_gzip"
	CodeBadBody         = "invalid_body"
	CodeUnsupportedCode = "unsupported_encoding"
)

// Request is a decoded ingestion request: one event (/v1/track, ...) or a
// batch (/v1/batch), with the fields that apply to all of its events.
type Request struct {
	// Events are the raw events, still to be validated one by one.
	Events []json.RawMessage
	// Type is the type implied by the endpoint, empty for batches.
	Type         event.Type
	WriteKey     string
	SentAt       string
	Context      map[string]json.RawMessage
	Integrations map[string]json.RawMessage
}

// ReadBody reads a request body, decompressing it when the client says it is
// gzip (Content-Encoding) or when it starts with the gzip magic number
// (clients send gzipped JSON under all sorts of content types). At most max
// bytes are accepted after decompression, which also defuses gzip bombs.
func ReadBody(r io.Reader, contentEncoding string, max int64, buf *bytes.Buffer) ([]byte, error) {
	// The raw body is capped too: a compressed body is never larger than
	// what it expands to, except for a few header bytes.
	if err := readCapped(buf, r, max+1024); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	enc := strings.ToLower(strings.TrimSpace(contentEncoding))
	gzipped := enc == "gzip" || enc == "x-gzip" || (len(body) >= 2 && body[0] == 0x1f && body[1] == 0x8b)
	switch {
	case gzipped:
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, &RequestError{CodeBadGzip, "body is not valid gzip: " + err.Error()}
		}
		var out bytes.Buffer
		out.Grow(min(len(body)*4, int(max)+1))
		if err := readCapped(&out, zr, max); err != nil {
			if _, ok := err.(*RequestError); ok {
				return nil, err
			}
			return nil, &RequestError{CodeBadGzip, "body is not valid gzip: " + err.Error()}
		}
		buf.Reset()
		buf.Write(out.Bytes())
		body = buf.Bytes()
	case enc != "" && enc != "identity":
		return nil, &RequestError{CodeUnsupportedCode, fmt.Sprintf("Content-Encoding %q is not supported; send gzip or nothing", contentEncoding)}
	}
	if int64(len(body)) > max {
		return nil, tooLarge(max)
	}
	return body, nil
}

func readCapped(buf *bytes.Buffer, r io.Reader, max int64) error {
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return err
	}
	if n > max {
		return tooLarge(max)
	}
	return nil
}

func tooLarge(max int64) error {
	return &RequestError{CodeBodyTooLarge, fmt.Sprintf("body is larger than %d bytes once decompressed; send smaller batches", max)}
}

// envelopeWire is the request-level part of a body.
type envelopeWire struct {
	Batch        json.RawMessage `json:"batch"`
	WriteKey     json.RawMessage `json:"writeKey"`
	SentAt       json.RawMessage `json:"sentAt"`
	Context      json.RawMessage `json:"context"`
	Integrations json.RawMessage `json:"integrations"`
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
	var w envelopeWire
	if err := json.Unmarshal(body, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &RequestError{CodeBadBody, fmt.Sprintf("%s: expected %s, got JSON %s", te.Field, te.Type, te.Value)}
		}
		return nil, &RequestError{CodeBadBody, "body is not valid JSON: " + err.Error()}
	}
	req := &Request{Type: typ}
	req.WriteKey, _ = jsonString(w.WriteKey)
	if typ == "" {
		if err := decodeBatch(&w, req); err != nil {
			return nil, err
		}
	} else {
		// A single call: the body is the event, and its own sentAt,
		// context and integrations are the event's.
		req.Events = []json.RawMessage{body}
	}
	return req, nil
}

func decodeBatch(w *envelopeWire, req *Request) error {
	if len(w.Batch) > 0 && string(w.Batch) != "null" {
		if w.Batch[0] != '[' {
			return &RequestError{CodeBadBody, "batch must be a JSON array of events"}
		}
		if err := json.Unmarshal(w.Batch, &req.Events); err != nil {
			return &RequestError{CodeBadBody, "batch: " + err.Error()}
		}
	}
	req.SentAt, _ = jsonString(w.SentAt)
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		out  *map[string]json.RawMessage
	}{{"context", w.Context, &req.Context}, {"integrations", w.Integrations, &req.Integrations}} {
		if len(f.raw) == 0 || string(f.raw) == "null" {
			continue
		}
		if f.raw[0] != '{' {
			return &RequestError{CodeBadBody, f.name + " must be a JSON object"}
		}
		if err := json.Unmarshal(f.raw, f.out); err != nil {
			return &RequestError{CodeBadBody, f.name + ": " + err.Error()}
		}
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
