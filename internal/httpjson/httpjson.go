// Package httpjson writes JSON responses and errors in the one shape every
// Parcours endpoint uses: {"error": {"code", "message", "details"}}.
package httpjson

import (
	"encoding/json"
	"net/http"
)

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong: a stable code for programs, a message
// for people, and optional details (the offending field, the allowed values).
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// Write writes v as JSON with the given status.
func Write(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"response could not be encoded"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Error writes an error response.
func Error(w http.ResponseWriter, status int, code, message string, details any) {
	Write(w, status, ErrorBody{ErrorDetail{Code: code, Message: message, Details: details}})
}
