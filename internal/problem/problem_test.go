package problem_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/problem"
)

func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		name    string
		err     error
		kind    problem.Kind
		code    string
		message string
		details any
	}{
		{"not found, wrapped by an engine", fmt.Errorf("sqlite: %w", problem.NotFound("template", "t1")),
			problem.KindNotFound, "not_found", "no template t1", map[string]string{"kind": "template", "id": "t1", "template": "t1"}},
		{"not found with a hint", &problem.NotFoundError{Kind: "segment", ID: "vip", Hint: "GET /api/v1/segments lists them"},
			problem.KindNotFound, "not_found", "no segment vip: GET /api/v1/segments lists them", map[string]string{"kind": "segment", "id": "vip", "segment": "vip"}},
		{"the bare sentinel keeps its context", fmt.Errorf("report r1: %w", problem.ErrNotFound),
			problem.KindNotFound, "not_found", "report r1: not found", nil},
		{"conflict", fmt.Errorf("postgres: order o1: %w", problem.ErrConflict),
			problem.KindConflict, "conflict", "postgres: order o1: already exists or changed meanwhile", nil},
		{"a conflict that names the thing", fmt.Errorf("sqlite: %w", problem.Conflict("source", "Lyon tills", "a source of this name exists already")),
			problem.KindConflict, "conflict", "source Lyon tills: a source of this name exists already", map[string]string{"kind": "source", "id": "Lyon tills"}},
		{"a request's field", fmt.Errorf("api: %w", problem.Invalid("limit", "must be a number from 1 to 200")),
			problem.KindInvalid, "invalid_request", "limit: must be a number from 1 to 200",
			map[string]string{"field": "limit", "path": "limit", "reason": "must be a number from 1 to 200"}},
		{"a document's path", &problem.ValidationError{Subject: "segment", ID: "vip", Path: "where.trait", Reason: "is required"},
			problem.KindInvalid, "invalid_segment", "segment vip: where.trait: is required",
			map[string]string{"field": "where.trait", "path": "where.trait", "reason": "is required", "segment": "vip"}},
		{"a finer code", &problem.ValidationError{Code: "missing_field", Path: "event", Reason: "track needs an event name"},
			problem.KindInvalid, "missing_field", "event: track needs an event name (missing_field)",
			map[string]string{"field": "event", "path": "event", "reason": "track needs an event name"}},
		{"a list", problem.List{problem.Invalid("a", "is required"), problem.Invalid("b", "is too long")},
			problem.KindInvalid, "invalid_request", "a: is required; b: is too long",
			map[string]any{"problems": []map[string]string{{"path": "a", "reason": "is required"}, {"path": "b", "reason": "is too long"}}}},
		{"anything else is internal, and says nothing", errors.New("disk on fire at /var/lib"),
			problem.KindInternal, "internal", "internal error; the server log has the details", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := problem.Describe(c.err)
			if p.Kind != c.kind || p.Code != c.code || p.Message != c.message || !reflect.DeepEqual(p.Details, c.details) {
				t.Errorf("got %v %q %q %#v\nwant %v %q %q %#v", p.Kind, p.Code, p.Message, p.Details, c.kind, c.code, c.message, c.details)
			}
		})
	}
}

func TestSentinels(t *testing.T) {
	if !errors.Is(fmt.Errorf("x: %w", problem.NotFound("profile", 42)), problem.ErrNotFound) {
		t.Error("a NotFoundError does not match ErrNotFound")
	}
	if !errors.Is(fmt.Errorf("x: %w", problem.Conflict("source", "a", "b")), problem.ErrConflict) {
		t.Error("a ConflictError does not match ErrConflict")
	}
	if errors.Is(problem.NotFound("profile", 42), problem.ErrConflict) {
		t.Error("a NotFoundError matches ErrConflict")
	}
	var ve *problem.ValidationError
	if l := (problem.List{problem.Invalid("a", "b")}); !errors.As(l, &ve) || ve.Path != "a" {
		t.Error("errors.As does not find a list's error")
	}
	if (problem.List{}).Err() != nil {
		t.Error("an empty list is an error")
	}
	retry := &problem.Error{Kind: problem.KindUnavailable, Code: "not_ready", Message: "not ready", RetryAfter: 5 * time.Second}
	if p := problem.Describe(fmt.Errorf("measure: %w", retry)); p.RetryAfter != 5*time.Second || p.Message != "measure: not ready" {
		t.Errorf("%+v", p)
	}
	if problem.KindNotFound.String() != "not_found" {
		t.Error(problem.KindNotFound.String())
	}
}
