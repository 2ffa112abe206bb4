package collect

// Admission: what a request goes through before its events are decoded —
// the write key, a slot, the body's deadline and the memory budget. Each
// refusal is immediate, so that nothing waits in line under overload.

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/source"
)

// serve handles a POST. The order matters under attack: the write key in
// the header is checked before anything is read, so that a request without
// a valid key never takes a keyed client's slot; a request without a header
// key reads its body under the small unkeyed budget to find its writeKey.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, typ event.Type) {
	ctx := r.Context()
	var src *source.Source
	client := h.clientIP(r)
	if key := BasicWriteKey(r.Header.Get("Authorization")); key != "" {
		var ok bool
		if src, ok = h.source(w, ctx, key); !ok {
			return
		}
		if !h.keyed.tryAcquire() {
			unread(w)
			h.refuse(w, refusedInFlight, true, "too many requests in flight")
			return
		}
		defer h.keyed.release()
		h.setBodyDeadline(w, h.opts.BodyTimeout)
	} else {
		if !h.perClient.tryAcquire(client) {
			unread(w)
			h.refuse(w, refusedClient, false, "too many requests without an Authorization header from your address; send the write key as the HTTP Basic user name")
			return
		}
		if !h.unkeyed.tryAcquire() {
			h.perClient.release(client)
			unread(w)
			h.refuse(w, refusedUnkeyed, false, "too many requests without an Authorization header; send the write key as the HTTP Basic user name")
			return
		}
		held := true
		release := func() {
			if held {
				h.unkeyed.release()
				h.perClient.release(client)
				held = false
			}
		}
		defer release()
		h.setBodyDeadline(w, h.opts.UnkeyedBodyTimeout)
		// The key is in the body: read it, then move to a keyed slot.
		body, lease, ok := h.readBody(w, r, false)
		defer lease.release()
		if !ok {
			return
		}
		req, err := Decode(body, typ)
		if err != nil {
			h.requestError(w, err)
			return
		}
		if src, ok = h.source(w, ctx, req.WriteKey); !ok {
			return
		}
		release()
		if !h.keyed.tryAcquire() {
			h.refuse(w, refusedInFlight, true, "too many requests in flight")
			return
		}
		defer h.keyed.release()
		h.ingest(w, r, src, req, lease, client)
		return
	}
	body, lease, ok := h.readBody(w, r, true)
	defer lease.release()
	if !ok {
		return
	}
	req, err := Decode(body, typ)
	if err != nil {
		h.requestError(w, err)
		return
	}
	h.ingest(w, r, src, req, lease, client)
}

// source resolves a write key, answering 401 or 503 when it cannot.
func (h *Handler) source(w http.ResponseWriter, ctx context.Context, key string) (*source.Source, bool) {
	src, err := h.keys.Source(ctx, key)
	if err == nil {
		return src, true
	}
	if errors.Is(err, ErrNoWriteKey) || errors.Is(err, ErrUnknownWriteKey) || errors.Is(err, ErrDisabledSource) {
		w.Header().Set("WWW-Authenticate", `Basic realm="parcours"`)
		unread(w) // when the key came in the header
		httpjson.Fail(w, nil, h.log, err)
		return nil, false
	}
	if errors.Is(err, ErrLookupsBusy) {
		unread(w)
		h.refuse(w, refusedLookups, false, "too many unknown write keys being checked")
		return nil, false
	}
	h.log.Error("ingest: write key lookup failed", "err", err)
	httpjson.Fail(w, nil, h.log, unavailable("the store is not answering"))
	return nil, false
}

// setBodyDeadline bounds the time the body may take to arrive. Recorders
// used in tests do not support deadlines; real connections do.
func (h *Handler) setBodyDeadline(w http.ResponseWriter, d time.Duration) {
	// The kernel enforces network deadlines: they are on the wall clock,
	// not the injected one.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
}

// readBody reads the body within the memory budget. On failure it has
// answered the client.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, keyed bool) ([]byte, *lease, bool) {
	l := &lease{b: &h.mem}
	if r.ContentLength > h.opts.MaxBody+1024 {
		unread(w)
		httpjson.Fail(w, nil, h.log, tooLarge(h.opts.MaxBody))
		return nil, l, false
	}
	bp := h.bufs.Get().(*[]byte)
	dst := *bp
	size := cap(dst)
	if r.ContentLength >= int64(size) {
		// A known length: one allocation, the right size.
		size = int(r.ContentLength) + 1
	}
	err := l.grow(int64(size))
	if err == nil && size > cap(dst) {
		dst = make([]byte, 0, size)
	}
	var body []byte
	if err == nil {
		body, err = ReadBody(r.Body, r.Header.Get("Content-Encoding"), h.opts.MaxBody, dst, l.grow)
	}
	if cap(body) <= 1<<20 && cap(body) >= cap(*bp) {
		// Keep buffers up to 1 MB for the next request; bigger ones would
		// pin memory.
		*bp = body[:0]
	}
	// The buffer goes back to the pool when the request is done with it.
	l.done = func() { h.bufs.Put(bp) }
	var ne net.Error
	switch {
	case err == nil:
		return body, l, true
	case errors.Is(err, errNoMemory):
		unread(w)
		h.refuse(w, refusedMemory, keyed, "too much data in flight")
	case errors.As(err, &ne) && ne.Timeout():
		h.refused(refusedSlowBody, false)
		d := h.opts.BodyTimeout
		if !keyed {
			d = h.opts.UnkeyedBodyTimeout
		}
		unread(w)
		httpjson.Fail(w, nil, h.log, problem.New(problem.KindTimeout, "body_timeout",
			"the body did not arrive within "+d.String()+"; send it in one go (the limit is shorter for requests without an Authorization header)"))
	default:
		h.requestError(w, err)
	}
	return nil, l, false
}

// unread marks the response to a request whose body was not read: the
// connection is closed after it, instead of reading the body to reuse it.
func unread(w http.ResponseWriter) { w.Header().Set("Connection", "close") }

// refuse answers 503 with Retry-After for overload, and records it.
func (h *Handler) refuse(w http.ResponseWriter, reason string, keyed bool, why string) {
	h.refused(reason, keyed)
	httpjson.Fail(w, nil, h.log, &problem.Error{Kind: problem.KindUnavailable, Code: "overloaded", Message: why + "; retry after 1 second",
		Details: map[string]any{"reason": reason}, RetryAfter: time.Second})
}
