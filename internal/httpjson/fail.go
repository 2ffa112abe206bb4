package httpjson

import (
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/parcours/parcours/internal/problem"
)

// Status is the HTTP status of a kind of problem. It is the only place
// that turns an error into a status code: handlers return errors, Fail
// writes them.
func Status(k problem.Kind) int {
	switch k {
	case problem.KindInvalid:
		return http.StatusBadRequest
	case problem.KindNotFound:
		return http.StatusNotFound
	case problem.KindConflict:
		return http.StatusConflict
	case problem.KindMismatch:
		return http.StatusUnprocessableEntity
	case problem.KindUnavailable:
		return http.StatusServiceUnavailable
	case problem.KindTooMany:
		return http.StatusTooManyRequests
	case problem.KindUnauthorized:
		return http.StatusUnauthorized
	case problem.KindForbidden:
		return http.StatusForbidden
	case problem.KindMethod:
		return http.StatusMethodNotAllowed
	case problem.KindTimeout:
		return http.StatusRequestTimeout
	case problem.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// Fail writes err in the error shape, with the status of its kind
// (problem.Describe). An internal error is logged with the request (r may
// be nil), and the client is told only that the log has the details.
func Fail(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p := problem.Describe(err)
	if p.Kind == problem.KindInternal {
		if log == nil {
			log = slog.Default()
		}
		if r != nil {
			log = log.With("method", r.Method, "path", r.URL.Path, "request_id", RequestID(r))
		}
		log.Error("http: request failed", "err", err)
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(p.RetryAfter.Seconds()))))
	}
	Error(w, Status(p.Kind), p.Code, p.Message, p.Details)
}
