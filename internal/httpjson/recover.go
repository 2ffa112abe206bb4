package httpjson

import (
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover wraps h so that a panic in a handler answers 500 with the usual
// error shape instead of dropping the connection (what net/http does with
// a panicking handler), and is logged with its stack. No input should
// make a handler panic: this is the last line, so that a bug found in
// production costs one request, not the connection or the process.
// http.ErrAbortHandler, the deliberate way to abort a response, passes
// through.
func Recover(h http.Handler, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.Error("http: handler panicked", "method", r.Method, "path", r.URL.Path, "request_id", RequestID(r), "panic", p, "stack", string(debug.Stack()))
			// If the handler had already started its response, this
			// header is ignored and the client sees a truncated body.
			Error(w, http.StatusInternalServerError, "internal",
				"internal error while handling "+r.Method+" "+r.URL.Path+": the server logged the cause with its stack trace; please report it", nil)
		}()
		h.ServeHTTP(w, r)
	})
}
