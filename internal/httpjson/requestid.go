package httpjson

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// RequestIDHeader carries a request's id: taken from the client when it
// sends a sane one (a proxy's, a retrying SDK's), made here otherwise,
// echoed on every answer, and logged with whatever the request logs.
const RequestIDHeader = "X-Request-Id"

// WithRequestID gives each request an id (RequestIDHeader), sets it on
// the request's header for the handlers below (RequestID reads it) and on
// the answer.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !saneRequestID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
			r.Header.Set(RequestIDHeader, id)
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r)
	})
}

// RequestID returns the id WithRequestID gave r ("" without it).
func RequestID(r *http.Request) string {
	if r == nil {
		return ""
	}
	return r.Header.Get(RequestIDHeader)
}

// saneRequestID accepts 1 to 128 characters of letters, digits and
// -_.:/+= (UUIDs, trace ids, base64): nothing that could forge a log line
// or a header.
func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=':
		default:
			return false
		}
	}
	return true
}
