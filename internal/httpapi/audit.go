package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// auditCap is the most of a definition the audit log keeps, before and
// after; a larger one is recorded as its size.
const auditCap = 64 << 10

// routeAudit is what the audit log records of a route.
type routeAudit struct {
	action   string // the route: "PUT /api/v1/templates/{id}"
	resource string // "templates"
	// definition: keep the request body as after and the resource as it
	// was before.
	definition bool
	// beforePath turns the request's path into the one whose GET answers
	// the resource as it was ("" when no route does).
	pattern string
}

func auditOf(rt Route, perm auth.Permission) routeAudit {
	rest := strings.TrimPrefix(rt.Pattern, "/api/v1/")
	resource, _, _ := strings.Cut(rest, "/")
	return routeAudit{action: rt.Key(), resource: resource, definition: definitionPermissions[perm], pattern: rt.Pattern}
}

// audited serves the request and, when it succeeds, appends its entry to
// the audit log.
func (a *API) audited(w http.ResponseWriter, r *http.Request, p *auth.Principal, ra routeAudit, next http.Handler) {
	e := &auth.AuditEntry{At: a.clock.Now(), Actor: p.Actor(), Action: ra.action, Resource: ra.resource,
		ResourceID: auditedID(ra.pattern, r), IP: a.clientIP(r), UserAgent: clip(r.UserAgent(), 256)}
	definition := ra.definition && unsafeMethod(r.Method)
	if definition {
		if e.ResourceID != "" {
			e.Before = a.before(r)
		}
		var body []byte
		body, r.Body = peekBody(r.Body)
		e.After = auditDoc(body)
	}
	rec := &auditWriter{ResponseWriter: w, keep: definition && e.ResourceID == ""}
	next.ServeHTTP(rec, r)
	if rec.status >= 400 {
		return
	}
	e.Status = rec.status
	if e.Status == 0 {
		e.Status = http.StatusOK
	}
	if rec.keep {
		// A creation: the id is in the answer.
		var created struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(rec.body.Bytes(), &created) == nil {
			e.ResourceID = created.ID
		}
	}
	// The change is made: record it even if the client went away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := a.store.AppendAudit(ctx, e); err != nil {
		a.log.Error("audit: entry not recorded", "action", e.Action, "actor", e.Actor, "resource_id", e.ResourceID, "err", err)
	}
}

// record appends an entry the API makes itself (a login, a logout).
func (a *API) record(r *http.Request, actor, action, resource, id string, status int) {
	e := &auth.AuditEntry{At: a.clock.Now(), Actor: actor, Action: action, Resource: resource, ResourceID: id,
		Status: status, IP: a.clientIP(r), UserAgent: clip(r.UserAgent(), 256)}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := a.store.AppendAudit(ctx, e); err != nil {
		a.log.Error("audit: entry not recorded", "action", action, "actor", actor, "err", err)
	}
}

// auditedID is the id the request's path names: the first wildcard of
// the route.
func auditedID(pattern string, r *http.Request) string {
	for _, seg := range strings.Split(pattern, "/") {
		if strings.HasPrefix(seg, "{") {
			return r.PathValue(strings.Trim(seg, "{}."))
		}
	}
	return ""
}

// before reads the resource a change names as it is now, through the
// route that answers GET on the same path (or on its parent, for an
// action like /archive), as the same principal.
func (a *API) before(r *http.Request) json.RawMessage {
	if a.mux == nil {
		return nil
	}
	path := r.URL.Path
	for range 2 {
		probe, err := http.NewRequestWithContext(r.Context(), http.MethodGet, path, nil)
		if err != nil {
			return nil
		}
		probe.Header = r.Header.Clone()
		probe.RemoteAddr = r.RemoteAddr
		if _, pattern := a.mux.Handler(probe); strings.HasPrefix(pattern, "GET /api/v1/") {
			rec := &auditWriter{ResponseWriter: discard{}, keep: true}
			a.mux.ServeHTTP(rec, probe)
			if rec.status == 0 || rec.status == http.StatusOK {
				return auditDoc(rec.body.Bytes())
			}
			return nil
		}
		path = path[:strings.LastIndexByte(path, '/')]
	}
	return nil
}

// peekBody reads up to auditCap+1 bytes of body, and returns them with a
// body that still reads the whole.
func peekBody(body io.ReadCloser) ([]byte, io.ReadCloser) {
	if body == nil || body == http.NoBody {
		return nil, body
	}
	head, _ := io.ReadAll(io.LimitReader(body, auditCap+1))
	return head, struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), body), body}
}

// secretFields are removed from what the audit log keeps of a body, when
// they hold text ("totp": true, a user's flag, stays).
var secretFields = map[string]bool{"password": true, "totp": true, "totp_code": true, "secret": true,
	"token": true, "key": true, "api_key": true, "write_key": true, "credentials": true}

// auditDoc is what the audit log keeps of a definition: its JSON with
// secrets redacted, other text as a JSON string, or its size when it is
// larger than auditCap.
func auditDoc(b []byte) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if len(b) > auditCap {
		return json.RawMessage(`{"truncated":true,"bytes_over":` + strconv.Itoa(auditCap) + `}`)
	}
	var v any
	if json.Unmarshal(b, &v) == nil {
		out, err := json.Marshal(redact(v))
		if err == nil {
			return out
		}
	}
	out, _ := json.Marshal(string(b))
	return out
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if _, text := x.(string); text && secretFields[strings.ToLower(k)] {
				t[k] = "[redacted]"
			} else {
				t[k] = redact(x)
			}
		}
	case []any:
		for i, x := range t {
			t[i] = redact(x)
		}
	}
	return v
}

// auditWriter notes the status of an answer, and keeps its body when
// asked (up to auditCap).
type auditWriter struct {
	http.ResponseWriter
	status int
	keep   bool
	body   bytes.Buffer
}

func (w *auditWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.keep && w.body.Len() < auditCap {
		w.body.Write(b[:min(len(b), auditCap-w.body.Len())])
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes).
func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// discard is a ResponseWriter that keeps nothing.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// listAudit serves GET /api/v1/audit: the audit log, newest first,
// filtered by actor, action, resource, resource_id, since and until, paged
// with before (an entry id) or the cursor.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	aq := auth.AuditQuery{Actor: q.Get("actor"), Action: q.Get("action"), Resource: q.Get("resource"), ResourceID: q.Get("resource_id")}
	var err error
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"since", &aq.Since}, {"until", &aq.Until}} {
		if v := q.Get(f.name); v != "" {
			if *f.t, err = time.Parse(time.RFC3339, v); err != nil {
				a.fail(w, r, problem.Invalidf(f.name, "%q is not a time: write it as RFC 3339, like 2026-03-01T00:00:00Z", v))
				return
			}
		}
	}
	for _, f := range []struct {
		name string
		n    *int64
	}{{"before", &aq.Before}} {
		if v := q.Get(f.name); v != "" {
			if *f.n, err = strconv.ParseInt(v, 10, 64); err != nil || *f.n <= 0 {
				a.fail(w, r, problem.Invalidf(f.name, "%q is not an entry id: a positive integer", v))
				return
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			a.fail(w, r, problem.Invalidf("limit", "%q is not a positive integer", v))
			return
		}
		aq.Limit = n
	}
	list, err := a.store.ListAudit(r.Context(), aq)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if list == nil {
		list = []*auth.AuditEntry{}
	}
	out := struct {
		Entries []*auth.AuditEntry `json:"entries"`
		// NextBefore pages: pass it as before for the older entries.
		NextBefore int64 `json:"next_before,omitempty"`
	}{Entries: list}
	if n := len(list); n > 0 && n == store.ListPage.Size(aq.Limit) {
		out.NextBefore = list[n-1].ID
	}
	httpjson.Write(w, http.StatusOK, out)
}
