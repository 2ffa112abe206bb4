package template

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/osteele/liquid"
)

// The engine (osteele/liquid v1.9.2) panics on some input instead of
// returning an error: its expression scanner panics with a bare string
// for an identifier that is not valid Unicode letters ("{{͠}}", U+0360,
// found by FuzzCheck) and with a *strconv.NumError for an integer literal
// beyond int64; its parser recovers only its own SyntaxError type and
// re-panics the rest. Every call into the engine goes through parse and
// execute, which turn such a panic into an ordinary syntax error with the
// offending text quoted, so that Check reports it with its line and
// column like any other mistake, and no template ever takes down a
// request, a command or a worker.

// engineError is an engine panic turned into a source error.
type engineError struct {
	msg  string
	line int
}

func (e *engineError) Error() string   { return e.msg }
func (e *engineError) Cause() error    { return nil }
func (e *engineError) Path() string    { return "" }
func (e *engineError) LineNumber() int { return e.line }

// panicMessage describes what the engine panicked on.
func panicMessage(r any) string {
	switch v := r.(type) {
	case *strconv.NumError:
		return fmt.Sprintf("syntax error: the number %q is out of range", v.Num)
	case string:
		if id, ok := strings.CutPrefix(v, "syntax error in identifier "); ok {
			return fmt.Sprintf("syntax error: %q is not a valid variable name (letters, digits, _ and -)", id)
		}
		return "syntax error: " + v
	case error:
		return "syntax error: " + v.Error()
	}
	return fmt.Sprintf("syntax error: %v", r)
}

// parse parses src with the engine, never panicking.
func parse(html bool, src string) (tpl *liquid.Template, err liquid.SourceError) {
	defer func() {
		if r := recover(); r != nil {
			tpl, err = nil, &engineError{msg: panicMessage(r)}
		}
	}()
	return engine(html).ParseString(src)
}

// execute renders tpl into w, never panicking.
func execute(tpl *liquid.Template, w io.Writer, b liquid.Bindings) (err liquid.SourceError) {
	defer func() {
		if r := recover(); r != nil {
			err = &engineError{msg: fmt.Sprintf("rendering failed: %v", r)}
		}
	}()
	return tpl.FRender(w, b)
}
