package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/store"
)

// What the Idempotency-Key header of the creating requests that no domain
// keys by itself creates; a key is unique within its scope. Reservations,
// orders, returns and stock adjustments keep theirs in commerce, in the
// transaction that creates them; one-off messages in their send key.
const (
	scopeSource    = "source"
	scopeEnrolment = "enrolment"
	scopeConsent   = "consent"
)

// attempt is one run of a creating request under a client's idempotency
// key.
type attempt struct {
	key string // "": no key, nothing to find
	// claimed is when the key was first claimed.
	claimed time.Time
	// inDoubt is set when an earlier request with the same key and body
	// claimed it and never answered: it is still in flight, or the process
	// stopped between creating and answering. What it may have created
	// since claimed must be found, not created a second time.
	inDoubt bool
}

// once runs create under the request's idempotency key (none: key ""),
// with request the decoded body. The key is claimed before anything is
// created and the answer stored with it once create has written it (2xx);
// so a retry with the same key and request gets the first answer back,
// status and body, marked Idempotent-Replayed, even after a restart. The
// same key with another request (another body or path) is a 422. A
// request refused (4xx) releases the key it claimed: it created nothing,
// and a corrected retry may use it again. A request that failed (5xx) or
// never answered keeps it claimed, and the retry runs in doubt. So create
// must make what it creates findable by the key (attempt.claimed and key
// give a source its id), and find what another run with the key created,
// in doubt or racing it, instead of creating it again.
func (a *API) once(w http.ResponseWriter, r *http.Request, scope, key string, request any, create func(http.ResponseWriter, attempt)) {
	if key == "" {
		create(w, attempt{})
		return
	}
	if err := commerce.CheckKey(idempotencyHeader, key); err != nil {
		a.fail(w, r, err)
		return
	}
	body, err := json.Marshal(request)
	if err != nil {
		a.fail(w, r, fmt.Errorf("api: fingerprint of a %s request: %w", scope, err))
		return
	}
	sum := sha256.Sum256(append([]byte(r.URL.Path+"\n"), body...))
	k := &store.RequestKey{Scope: scope, Key: key, Fingerprint: hex.EncodeToString(sum[:16]), CreatedAt: a.clock.Now().UTC()}
	stored, claimed, err := a.store.ClaimRequestKey(r.Context(), k)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case stored.Fingerprint != k.Fingerprint:
		details := map[string]string{"key": key, "scope": scope}
		what := ""
		if stored.ResourceID != "" {
			details[scope+"_id"] = stored.ResourceID
			what = " (" + scope + " " + stored.ResourceID + ")"
		}
		httpjson.Error(w, http.StatusUnprocessableEntity, "idempotency_key_reused",
			fmt.Sprintf("Idempotency-Key %s was used for another %s request%s: a retry must send the same body to the same path; a new request needs a new key",
				strconv.Quote(shorten(key)), scope, what), details)
		return
	case stored.Answered():
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(stored.Status)
		w.Write(stored.Response)
		return
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	create(rec, attempt{key: key, claimed: stored.CreatedAt, inDoubt: !claimed})
	switch {
	case rec.status >= 200 && rec.status < 300:
		k.Status, k.Response, k.ResourceID = rec.status, rec.body.Bytes(), resourceID(rec.body.Bytes())
		if err := a.store.AnswerRequestKey(r.Context(), k); err != nil {
			// The key stays claimed: a retry runs in doubt and finds
			// what this request created.
			a.log.Warn("api: idempotency key answer not stored", "scope", scope, "err", err)
		}
	case rec.status >= 400 && rec.status < 500 && claimed:
		if err := a.store.ReleaseRequestKey(r.Context(), scope, key); err != nil {
			a.log.Warn("api: idempotency key not released", "scope", scope, "err", err)
		}
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
}

// recorder holds a response until its idempotency key knows it.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(status int) { r.status = status }

func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }

// resourceID is the "id" of a JSON answer, if it has one.
func resourceID(body []byte) string {
	var v struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.ID) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.ID, &s) == nil {
		return s
	}
	return string(v.ID)
}

// shorten cuts a key for an error message.
func shorten(s string) string {
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
