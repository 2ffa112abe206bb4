package measure

import (
	"errors"
	"fmt"
)

// ValidationError is a report query or definition that cannot be answered
// as written: the field and why, with what to write instead.
type ValidationError struct {
	Field  string
	Reason string
}

// Error says which field and why.
func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// ErrNotReady says a report needs something still being built (the
// behaviour index catching up with the log): try again shortly.
var ErrNotReady = errors.New("measure: not ready")
