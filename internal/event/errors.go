package event

import (
	"encoding/json"
	"errors"

	"github.com/parcours/parcours/internal/problem"
)

// Codes name why an event was refused or corrected. They are stable: they
// appear in API responses, metrics labels and reject files.
const (
	CodeNotObject        = "not_an_object"
	CodeInvalidJSON      = "invalid_json"
	CodeTooLarge         = "too_large"
	CodeUnknownType      = "unknown_type"
	CodeMissingIdentity  = "missing_identity"
	CodeMissingField     = "missing_field"
	CodeInvalidField     = "invalid_field"
	CodeInvalidTimestamp = "invalid_timestamp"
	CodeInvalidText      = "invalid_text"
	CodeInvalidNumber    = "invalid_number"
	CodeTooDeep          = "too_deep"
)

// Codes lists every code, for pre-registering metrics.
var Codes = []string{CodeNotObject, CodeInvalidJSON, CodeTooLarge, CodeUnknownType,
	CodeMissingIdentity, CodeMissingField, CodeInvalidField, CodeInvalidTimestamp, CodeInvalidText,
	CodeInvalidNumber, CodeTooDeep}

// decodeError turns a JSON decoding error into a *problem.ValidationError that names
// the field when the decoder knows it.
func decodeError(err error) *problem.ValidationError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &problem.ValidationError{Code: CodeInvalidField, Path: te.Field,
			Reason: "expected " + te.Type.String() + ", got JSON " + te.Value}
	}
	return &problem.ValidationError{Code: CodeInvalidJSON, Reason: "invalid JSON: " + err.Error()}
}

// scalar decodes a JSON string, number or null into a string. Clients send
// numeric user ids; Segment stores them as strings.
func scalar(field string, b json.RawMessage) (string, error) {
	switch {
	case len(b) == 0 || b[0] == 'n':
		return "", nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", decodeError(err)
		}
		return s, nil
	case b[0] == '-' || ('0' <= b[0] && b[0] <= '9'):
		return string(b), nil
	}
	got := "an array"
	switch b[0] {
	case 't', 'f':
		got = "a boolean"
	case '{':
		got = "an object"
	}
	return "", &problem.ValidationError{Code: CodeInvalidField, Path: field, Reason: "expected a string or a number, got " + got}
}
