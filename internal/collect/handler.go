package collect

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/source"
)

// HandlerOptions tune the HTTP handler. Zero values take the defaults
// (the Default* constants).
type HandlerOptions struct {
	// MaxBody is the largest body, once decompressed (default 4 MB).
	MaxBody int64
	// MaxInFlight bounds the requests with a valid write key in the
	// Authorization header handled at once (default 512).
	MaxInFlight int
	// MaxUnkeyed bounds the requests without an Authorization header
	// reading their body to find its writeKey (default 64), and
	// MaxUnkeyedPerClient those of one client address (default 8): a
	// request without a key never takes a keyed client's slot.
	MaxUnkeyed          int
	MaxUnkeyedPerClient int
	// MaxBatchEvents is the most events one request may carry (default
	// 5,000); a larger batch is refused with 400.
	MaxBatchEvents int
	// MaxMemory bounds the decoded size of the requests in flight
	// (default 128 MB): bodies, decoded events, and a fixed overhead per
	// event. A request that would cross it is answered 503.
	MaxMemory int64
	// BodyTimeout is how long a keyed request's body may take to arrive
	// (default 10s), UnkeyedBodyTimeout an unkeyed one's (default 2s).
	// A slower body is answered 408 and its connection closed.
	BodyTimeout        time.Duration
	UnkeyedBodyTimeout time.Duration
	// MaxWait is how long a request's events may wait for a commit to
	// take them (default 2s); then it is answered 503 with Retry-After,
	// its events certainly not stored.
	MaxWait time.Duration
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	Logger     *slog.Logger
}

func (o *HandlerOptions) defaults() {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.MaxUnkeyed <= 0 {
		o.MaxUnkeyed = DefaultMaxUnkeyed
	}
	if o.MaxUnkeyedPerClient <= 0 {
		o.MaxUnkeyedPerClient = DefaultMaxUnkeyedPerClient
	}
	if o.MaxBatchEvents <= 0 {
		o.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if o.MaxMemory <= 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = DefaultBodyTimeout
	}
	if o.UnkeyedBodyTimeout <= 0 {
		o.UnkeyedBodyTimeout = DefaultUnkeyedBodyTimeout
	}
	if o.MaxWait <= 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Handler serves the Segment-compatible tracking API.
type Handler struct {
	keys     *Keys
	ingester *Ingester
	clock    clock.Clock
	metrics  *Metrics
	opts     HandlerOptions
	log      *slog.Logger

	keyed       pool
	unkeyed     pool
	perClient   perClient
	mem         budget
	lastRefusal atomic.Int64 // unix nanoseconds, by the handler's clock
	preparing   atomic.Int64 // events of the requests being decoded
	bufs        sync.Pool
}

// NewHandler returns the tracking API handler.
func NewHandler(keys *Keys, ingester *Ingester, clk clock.Clock, metrics *Metrics, o HandlerOptions) *Handler {
	o.defaults()
	h := &Handler{
		keys: keys, ingester: ingester, clock: clk, metrics: metrics, opts: o, log: o.Logger,
		keyed:     pool{max: int64(o.MaxInFlight)},
		unkeyed:   pool{max: int64(o.MaxUnkeyed)},
		perClient: perClient{max: o.MaxUnkeyedPerClient, n: map[string]int{}},
		mem:       budget{max: o.MaxMemory},
		bufs:      sync.Pool{New: func() any { return new([]byte) }},
	}
	if metrics != nil {
		metrics.watch(h)
	}
	return h
}

// response is the body of a successful ingestion request. Segment answers
// {"success": true}; the counts and rejections are additions that clients
// ignore and developers find useful.
type response struct {
	Success    bool             `json:"success"`
	Stored     int              `json:"stored"`
	Duplicates int              `json:"duplicates"`
	Rejected   []rejectionBrief `json:"rejected,omitempty"`
}

type rejectionBrief struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId,omitempty"`
	Action    string `json:"action"`
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	Reason    string `json:"reason"`
}

// Calls returns the handler of an ingestion path whose calls are of type
// typ ("" for batches, whose events say their type). The route table
// (httpapi.Routes) lists the paths. The handler answers the CORS preflight
// (OPTIONS) and 405 for the other methods itself, and never redirects:
// clients do not follow redirects on POST, and a redirect would lose the
// events.
func (h *Handler) Calls(typ event.Type) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		endpoint := strings.TrimPrefix(strings.TrimSuffix(r.URL.Path, "/"), "/v1/")
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if h.metrics != nil {
				h.metrics.requests.WithLabelValues(endpoint, strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
			}
		}()
		cors(sw, r)
		switch r.Method {
		case http.MethodPost:
			h.serve(sw, r, typ)
		case http.MethodOptions:
			sw.WriteHeader(http.StatusNoContent)
		default:
			sw.Header().Set("Allow", "POST, OPTIONS")
			httpjson.Fail(sw, r, h.log, errMethod)
		}
	})
}

// The answers of a method or a path the tracking API does not serve.
var (
	errMethod         = problem.New(problem.KindMethod, "method_not_allowed", "use POST")
	errNoSuchEndpoint = problem.New(problem.KindNotFound, "not_found", "no such endpoint; the tracking API is POST /v1/track, identify, page, screen, group, alias and batch")
)

// NoSuchEndpoint answers a path under /v1/ that is not one of the tracking
// API's.
func NoSuchEndpoint(w http.ResponseWriter, r *http.Request) {
	cors(w, r)
	httpjson.Fail(w, r, nil, errNoSuchEndpoint)
}

// ingest validates and stores the events of a decoded request.
func (h *Handler) ingest(w http.ResponseWriter, r *http.Request, src *source.Source, req *Request, l *lease, client string) {
	// The wait is bounded from here, the body read: decoding under load
	// counts too. (The wall clock: this bounds real waiting, like a
	// network deadline.)
	start := time.Now()
	if n := len(req.Events); n > h.opts.MaxBatchEvents {
		h.refused(refusedBatchSize, false)
		httpjson.Fail(w, r, h.log, &RequestError{Code: CodeTooManyEvents,
			Reason: "the batch has " + strconv.Itoa(n) + " events; the limit is " + strconv.Itoa(h.opts.MaxBatchEvents) + " per request: send smaller batches"})
		return
	}
	// What decoding will hold: a copy of each event's fields and the
	// per-event overhead, on top of the body already counted.
	var size int64
	for _, e := range req.Events {
		size += int64(len(e)) + eventOverhead
	}
	if err := l.grow(size); err != nil {
		h.refuse(w, refusedMemory, true, "too much data in flight")
		return
	}
	// Events that would wait beyond the bound are refused before they are
	// decoded, or the work would be thrown away when they are withdrawn.
	// Ahead of them: the events queued, and those of the requests being
	// decoded, which will be queued first.
	n := int64(len(req.Events))
	preparing := h.preparing.Add(n)
	if h.ingester.Backlog(preparing-n) > h.opts.MaxWait {
		h.preparing.Add(-n)
		h.refuse(w, refusedQueue, true, "the event log is busy")
		return
	}
	env := &event.Envelope{
		ReceivedAt:   h.clock.Now(),
		SourceID:     src.ID,
		Channel:      src.Channel,
		StoreID:      src.StoreID,
		Context:      req.Context,
		Integrations: req.Integrations,
		IP:           client,
	}
	if req.SentAt != "" {
		// An unreadable batch-level sentAt only disables skew correction.
		env.SentAt, _ = event.ParseTimestamp(req.SentAt)
	}
	events, rejects := prepare(env, req.Events, req.Scans, req.Type)
	h.preparing.Add(-n) // queued from here on
	res, err := h.ingester.SubmitWithin(r.Context(), events, rejects, max(h.opts.MaxWait-time.Since(start), time.Millisecond))
	switch {
	case errors.Is(err, ErrOverloaded):
		h.refuse(w, refusedQueue, true, "the event log is busy")
		return
	case errors.Is(err, ErrClosed):
		httpjson.Fail(w, r, h.log, unavailable("the server is shutting down"))
		return
	case errors.Is(err, context.Canceled):
		return // the client is gone; dedup protects its retry
	case err != nil:
		h.log.Error("ingest: commit failed", "source", src.ID, "events", len(events), "request_id", httpjson.RequestID(r), "err", err)
		httpjson.Fail(w, r, h.log, unavailable("events could not be stored"))
		return
	}
	if req.Type != "" && len(events) == 0 && len(res.Rejections) == 1 {
		// A single call whose event was dropped: Segment's libraries take
		// a 200 for "stored", so the client must hear that it was not.
		rj := res.Rejections[0]
		httpjson.Fail(w, r, h.log, &problem.Error{Kind: problem.KindInvalid, Code: rj.Code, Message: rj.Reason,
			Details: map[string]any{"field": rj.Field, "messageId": rj.MessageID}})
		return
	}
	resp := response{Success: true, Stored: res.Stored, Duplicates: res.Duplicates}
	for _, rj := range res.Rejections {
		resp.Rejected = append(resp.Rejected, rejectionBrief{rj.Index, rj.MessageID, rj.Action, rj.Code, rj.Field, rj.Reason})
	}
	httpjson.Write(w, http.StatusOK, resp)
}

// requestError answers a request that cannot be read: a *RequestError
// says why; any other error is a body that did not arrive whole (the
// client went away or timed out).
func (h *Handler) requestError(w http.ResponseWriter, err error) {
	var re *RequestError
	if !errors.As(err, &re) {
		re = &RequestError{Code: CodeBadBody, Reason: "could not read the body: " + err.Error()}
	}
	httpjson.Fail(w, nil, h.log, re)
}

// unavailable is the 503 of a store that does not answer or a server
// shutting down: retry in 5 seconds.
func unavailable(why string) error {
	return &problem.Error{Kind: problem.KindUnavailable, Code: "unavailable", Message: why + "; retry after 5 seconds", RetryAfter: 5 * time.Second}
}

func (h *Handler) clientIP(r *http.Request) string {
	if h.opts.TrustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			first, _, _ := strings.Cut(xff, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// cors lets browsers post events from the brand's sites.
func cors(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	origin := r.Header.Get("Origin")
	if origin == "" {
		origin = "*"
	} else {
		h.Add("Vary", "Origin")
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		// The SDKs add headers of their own (RudderStack's AnonymousId,
		// Segment's X-Retry-Count): whatever the preflight asks for is
		// allowed, since the write key, not the origin, is the check.
		allow := "Authorization, Content-Type, Content-Encoding"
		if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" && len(asked) <= 1024 {
			allow = asked
		}
		h.Set("Access-Control-Allow-Headers", allow)
		h.Add("Vary", "Access-Control-Request-Headers")
		h.Set("Access-Control-Max-Age", "86400")
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
