// Package problem is the one error vocabulary of Parcours: what went wrong,
// said the same way by every domain (sources, events, segments, journeys,
// commerce, messages, measure, the store engines), so that the edge — the
// management API, the tracking API, the CLI — reports it without knowing
// the domain.
//
// A domain returns one of the errors below (or its own typed error that
// describes itself with Describe), wrapped with its context by %w:
//
//	return fmt.Errorf("sqlite: %w", problem.NotFound("template", id))
//	return problem.Invalid("steps[2].wait.until", "is a duration like 2d")
//
// The package is a leaf: it imports nothing of Parcours, and knows nothing
// of HTTP. httpapi turns a Kind into a status code, in one function.
package problem

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what sort of problem an error is. The API maps each kind to one
// status code; programs read the finer Code.
type Kind uint8

// The kinds of problems.
const (
	// KindInternal is a fault of the server, not of the request: the server's
	// log has the details and the client sees none.
	KindInternal Kind = iota
	// KindInvalid is a request or a document that cannot be accepted as
	// written (400).
	KindInvalid
	// KindNotFound is a thing the request names that does not exist (404).
	KindNotFound
	// KindConflict is a request that contradicts the current state: the thing
	// exists already, changed meanwhile, cannot make this transition, or
	// the stock is short (409).
	KindConflict
	// KindMismatch is a request that claims to repeat an earlier one (the same
	// idempotency key) but differs from it (422).
	KindMismatch
	// KindUnavailable is a temporary refusal: try again later, after
	// RetryAfter when it is set (503).
	KindUnavailable
	// KindTooMany is a client over its share: slow down (429).
	KindTooMany
	// KindUnauthorized is a request without valid credentials (401).
	KindUnauthorized
	// KindForbidden is a request whose credentials do not allow it (403).
	KindForbidden
	// KindMethod is a method the endpoint does not answer (405).
	KindMethod
	// KindTimeout is a request whose body did not arrive in time (408).
	KindTimeout
	// KindTooLarge is a request whose body is over the endpoint's bound
	// (413).
	KindTooLarge
)

var kindNames = [...]string{"internal", "invalid", "not_found", "conflict", "mismatch", "unavailable", "too_many", "unauthorized", "forbidden", "method", "timeout", "too_large"}

// String is the kind's name, like "not_found".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Problem is what an error tells a client: its kind, a stable code for
// programs, a message for people, and details (the field, the id, the
// allowed values) for both.
type Problem struct {
	Kind    Kind
	Code    string
	Message string
	Details any
	// RetryAfter is how long to wait before trying again (KindUnavailable,
	// KindTooMany); zero when it is not known.
	RetryAfter time.Duration
}

// Describer is an error that says what it is to a client. Every error of
// this package is one; a domain's own typed error (the stock that is short,
// the transition an order cannot make) implements it to carry its details.
type Describer interface {
	error
	Describe() Problem
}

// ErrNotFound is what every not-found error matches (errors.Is): the
// engines' and every domain's. Prefer NotFound, which names the thing.
var ErrNotFound = New(KindNotFound, "not_found", "not found")

// ErrConflict is what every conflict matches: a write that would duplicate
// an id or lost a race with another one.
var ErrConflict = New(KindConflict, "conflict", "already exists or changed meanwhile")

// Describe returns what err says to a client: what the first Describer in
// its chain says, else an internal problem (whose message is deliberately
// vague: the details are for the log).
func Describe(err error) Problem {
	if err == nil {
		return Problem{}
	}
	var d Describer
	if !errors.As(err, &d) {
		return Problem{Kind: KindInternal, Code: "internal", Message: "internal error; the server log has the details"}
	}
	p := d.Describe()
	if _, plain := d.(*Error); plain {
		p.Message = err.Error()
	}
	return p
}

// NotFoundError names a thing that does not exist: its kind ("segment",
// "template", "profile") and its id. It matches ErrNotFound.
type NotFoundError struct {
	Kind string
	ID   string
	// Hint, when set, says how to find or create one ("GET
	// /api/v1/segments lists them").
	Hint string
}

// NotFound returns the error for the kind of thing with this id.
func NotFound(kind string, id any) *NotFoundError {
	return &NotFoundError{Kind: kind, ID: Clip(fmt.Sprint(id))}
}

// MaxQuoted is the most bytes of a client's value an error quotes: an
// answer names what it did not find without echoing a hostile id whole.
const MaxQuoted = 200

// Clip returns s, or its first MaxQuoted bytes (cut between characters)
// followed by how long it was.
func Clip(s string) string {
	if len(s) <= MaxQuoted {
		return s
	}
	cut := MaxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}

// Error says "no segment vip", with the hint if any.
func (e *NotFoundError) Error() string {
	s := "no " + e.Kind
	if e.ID != "" {
		s += " " + e.ID
	}
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

// Is makes the error match ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Describe reports the kind and id in the details, and the id under the
// kind's name too ("segment": "vip"), as clients read it before.
func (e *NotFoundError) Describe() Problem {
	d := map[string]string{"kind": e.Kind, "id": e.ID}
	if !strings.Contains(e.Kind, " ") && e.Kind != "kind" && e.Kind != "id" {
		d[e.Kind] = e.ID
	}
	return Problem{Kind: KindNotFound, Code: "not_found", Message: e.Error(), Details: d}
}

// ConflictError names a thing a write collides with: its kind and id, and
// why ("a source of this name exists already"). It matches ErrConflict.
type ConflictError struct {
	Kind, ID, Reason string
}

// Conflict returns the error for the kind of thing with this id.
func Conflict(kind string, id any, reason string) *ConflictError {
	return &ConflictError{Kind: kind, ID: fmt.Sprint(id), Reason: reason}
}

// Error says "source Lyon tills: a source of this name exists already".
func (e *ConflictError) Error() string { return e.Kind + " " + e.ID + ": " + e.Reason }

// Is makes the error match ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Describe reports the kind and id in the details.
func (e *ConflictError) Describe() Problem {
	return Problem{Kind: KindConflict, Code: "conflict", Message: e.Error(), Details: map[string]string{"kind": e.Kind, "id": e.ID}}
}

// ValidationError is one thing wrong in a request or a document: where
// (Path, like "where.all[1].performed.count" or "deltas[0].location_id")
// and why (Reason, which says what to write instead).
type ValidationError struct {
	// Subject and ID name the document being validated, when it is one
	// with an id: Subject "segment", ID "vip". The error's code is then
	// "invalid_segment"; without a subject it is "invalid_request".
	Subject string
	ID      string
	Path    string
	Reason  string
	// Code, when set, is a finer code than the subject's (an event's
	// "missing_field", "invalid_timestamp").
	Code string
}

// Invalid returns the error for the field at path.
func Invalid(path, reason string) *ValidationError {
	return &ValidationError{Path: path, Reason: reason}
}

// Invalidf is Invalid with a formatted reason.
func Invalidf(path, format string, args ...any) *ValidationError {
	return &ValidationError{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// Error says "segment vip: where.all[0].trait: is required", or
// "path: reason" without a subject; a finer code follows in parentheses.
func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.Subject != "" && e.ID != "" {
		b.WriteString(e.Subject + " " + e.ID + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Reason)
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	return b.String()
}

// Describe reports the path and reason in the details (as "field" too,
// the name clients have read since the first version), and the subject's
// id under the subject's name.
func (e *ValidationError) Describe() Problem {
	d := map[string]string{"field": e.Path, "path": e.Path, "reason": e.Reason}
	if e.Subject != "" {
		d[e.Subject] = e.ID
	}
	return Problem{Kind: KindInvalid, Code: e.code(), Message: e.Error(), Details: d}
}

func (e *ValidationError) code() string {
	switch {
	case e.Code != "":
		return e.Code
	case e.Subject != "":
		return "invalid_" + e.Subject
	}
	return "invalid_request"
}

// List is several validation errors found at once, reported together.
type List []*ValidationError

// Error joins the errors' messages with "; ".
func (l List) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errors.As find each error of the list.
func (l List) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// Err returns the list as an error, or nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Describe reports every error under "problems", each with its path and
// reason; the code is the first error's.
func (l List) Describe() Problem {
	if len(l) == 0 {
		return Problem{Kind: KindInvalid, Code: "invalid_request", Message: "invalid request"}
	}
	all := make([]map[string]string, len(l))
	for i, e := range l {
		all[i] = map[string]string{"path": e.Path, "reason": e.Reason}
	}
	return Problem{Kind: KindInvalid, Code: l[0].code(), Message: l.Error(), Details: map[string]any{"problems": all}}
}

// Error is a problem without a type of its own: a kind, a code and a
// message. Sentinels are made of it (ErrNotFound, a domain's ErrNotReady);
// when one is wrapped with context, the client reads the whole chain's
// message, which carries the context ("report r1: not found").
type Error struct {
	Kind       Kind
	Code       string
	Message    string
	Details    any
	RetryAfter time.Duration
}

// New returns a problem of kind with a code and a message.
func New(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Error is the message.
func (e *Error) Error() string { return e.Message }

// Describe returns the problem.
func (e *Error) Describe() Problem {
	return Problem{Kind: e.Kind, Code: e.Code, Message: e.Message, Details: e.Details, RetryAfter: e.RetryAfter}
}
