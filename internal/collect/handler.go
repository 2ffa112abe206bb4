package collect

import (
	"bytes"
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
)

// endpoints maps the ingestion paths to the call type they imply (empty for
// batches). The one-letter forms are the ones analytics.js uses.
var endpoints = map[string]event.Type{
	"/v1/track": event.Track, "/v1/t": event.Track,
	"/v1/identify": event.Identify, "/v1/i": event.Identify,
	"/v1/page": event.Page, "/v1/p": event.Page,
	"/v1/screen": event.Screen, "/v1/s": event.Screen,
	"/v1/group": event.Group, "/v1/g": event.Group,
	"/v1/alias": event.Alias, "/v1/a": event.Alias,
	"/v1/batch": "", "/v1/b": "", "/v1/import": "",
}

// IsIngestPath reports whether path is one of the tracking API's paths
// (a trailing slash is tolerated).
func IsIngestPath(path string) bool {
	_, ok := endpoints[strings.TrimSuffix(path, "/")]
	return ok
}

// HandlerOptions tune the HTTP handler. Zero values take the defaults.
type HandlerOptions struct {
	MaxBody          int64 // decoded body limit, default 4 MB
	MaxInFlight      int   // concurrent requests, default 512
	MaxInFlightBytes int64 // decoded bytes held by requests in flight, default 256 MB
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	Logger     *slog.Logger
}

// Handler serves the Segment-compatible tracking API.
type Handler struct {
	keys     *Keys
	ingester *Ingester
	clock    clock.Clock
	metrics  *Metrics
	opts     HandlerOptions
	log      *slog.Logger

	inFlight      chan struct{}
	inFlightBytes atomic.Int64
	bufs          sync.Pool
}

// NewHandler returns the tracking API handler.
func NewHandler(keys *Keys, ingester *Ingester, clk clock.Clock, metrics *Metrics, o HandlerOptions) *Handler {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 512
	}
	if o.MaxInFlightBytes <= 0 {
		o.MaxInFlightBytes = 256 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Handler{
		keys: keys, ingester: ingester, clock: clk, metrics: metrics, opts: o, log: o.Logger,
		inFlight: make(chan struct{}, o.MaxInFlight),
		bufs:     sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
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

// ServeHTTP handles one ingestion request. It never redirects: clients do
// not follow redirects on POST, and a redirect would lose the events.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	path := strings.TrimSuffix(r.URL.Path, "/")
	typ, ok := endpoints[path]
	endpoint := strings.TrimPrefix(path, "/v1/")
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if h.metrics != nil && ok {
			h.metrics.requests.WithLabelValues(endpoint, strconv.Itoa(sw.status)).Observe(time.Since(start).Seconds())
		}
	}()
	cors(sw, r)
	switch {
	case !ok:
		httpjson.Error(sw, http.StatusNotFound, "not_found", "no such endpoint; the tracking API is POST /v1/track, identify, page, screen, group, alias and batch", nil)
		return
	case r.Method == http.MethodOptions:
		sw.WriteHeader(http.StatusNoContent)
		return
	case r.Method != http.MethodPost:
		sw.Header().Set("Allow", "POST, OPTIONS")
		httpjson.Error(sw, http.StatusMethodNotAllowed, "method_not_allowed", "use POST", nil)
		return
	}
	h.serve(sw, r, typ)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, typ event.Type) {
	select {
	case h.inFlight <- struct{}{}:
		defer func() { <-h.inFlight }()
	default:
		overloaded(w, "too many requests in flight")
		return
	}
	if r.ContentLength > h.opts.MaxBody+1024 {
		httpjson.Error(w, http.StatusBadRequest, CodeBodyTooLarge, tooLarge(h.opts.MaxBody).Error(), nil)
		return
	}
	buf := h.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 { // keep big buffers from pinning memory
			h.bufs.Put(buf)
		}
	}()
	body, err := ReadBody(r.Body, r.Header.Get("Content-Encoding"), h.opts.MaxBody, buf)
	if err != nil {
		h.requestError(w, err)
		return
	}
	size := int64(cap(body))
	if h.inFlightBytes.Add(size) > h.opts.MaxInFlightBytes {
		h.inFlightBytes.Add(-size)
		overloaded(w, "too much data in flight")
		return
	}
	defer h.inFlightBytes.Add(-size)

	req, err := Decode(body, typ)
	if err != nil {
		h.requestError(w, err)
		return
	}
	key := BasicWriteKey(r.Header.Get("Authorization"))
	if key == "" {
		key = req.WriteKey
	}
	src, err := h.keys.Source(r.Context(), key)
	if err != nil {
		if errors.Is(err, ErrNoWriteKey) || errors.Is(err, ErrUnknownWriteKey) || errors.Is(err, ErrDisabledSource) {
			w.Header().Set("WWW-Authenticate", `Basic realm="parcours"`)
			httpjson.Error(w, http.StatusUnauthorized, "unauthorized", err.Error(), nil)
			return
		}
		h.log.Error("ingest: write key lookup failed", "err", err)
		unavailable(w, "the store is not answering")
		return
	}
	env := &event.Envelope{
		ReceivedAt:   h.clock.Now(),
		SourceID:     src.ID,
		Channel:      src.Channel,
		StoreID:      src.StoreID,
		Context:      req.Context,
		Integrations: req.Integrations,
		IP:           h.clientIP(r),
	}
	if req.SentAt != "" {
		// An unreadable batch-level sentAt only disables skew correction.
		env.SentAt, _ = event.ParseTimestamp(req.SentAt)
	}
	events, rejects := Prepare(env, req.Events, typ)
	res, err := h.ingester.Submit(r.Context(), events, rejects)
	switch {
	case errors.Is(err, ErrOverloaded):
		overloaded(w, "the event log is busy")
		return
	case errors.Is(err, ErrClosed):
		unavailable(w, "the server is shutting down")
		return
	case errors.Is(err, context.Canceled):
		return // the client is gone; dedup protects its retry
	case err != nil:
		h.log.Error("ingest: commit failed", "source", src.ID, "events", len(events), "err", err)
		unavailable(w, "events could not be stored")
		return
	}
	resp := response{Success: true, Stored: res.Stored, Duplicates: res.Duplicates}
	for _, rj := range res.Rejections {
		resp.Rejected = append(resp.Rejected, rejectionBrief{rj.Index, rj.MessageID, rj.Action, rj.Code, rj.Field, rj.Reason})
	}
	httpjson.Write(w, http.StatusOK, resp)
}

func (h *Handler) requestError(w http.ResponseWriter, err error) {
	var re *RequestError
	if errors.As(err, &re) {
		httpjson.Error(w, http.StatusBadRequest, re.Code, re.Reason, nil)
		return
	}
	// Reading the body failed: the client went away or timed out.
	httpjson.Error(w, http.StatusBadRequest, CodeBadBody, "could not read the body: "+err.Error(), nil)
}

func overloaded(w http.ResponseWriter, why string) {
	w.Header().Set("Retry-After", "1")
	httpjson.Error(w, http.StatusServiceUnavailable, "overloaded", why+"; retry after 1 second", nil)
}

func unavailable(w http.ResponseWriter, why string) {
	w.Header().Set("Retry-After", "5")
	httpjson.Error(w, http.StatusServiceUnavailable, "unavailable", why+"; retry after 5 seconds", nil)
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
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding")
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

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
