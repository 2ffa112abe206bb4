package measure

import (
	"time"

	"github.com/parcours/parcours/internal/problem"
)

// ErrNotReady says a report needs something still being built (the
// behaviour index catching up with the log): try again shortly.
// It is a problem of kind unavailable, code not_ready: retry in 5 seconds.
var ErrNotReady = &problem.Error{Kind: problem.KindUnavailable, Code: "not_ready", Message: "measure: not ready", RetryAfter: 5 * time.Second}
