// Package httpapi is the management REST API under /api/v1. It requires an
// admin key (Authorization: Bearer ...), maps domain errors to status codes
// in one place, and pages lists with an opaque cursor.
package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// Store is what the API reads and writes.
type Store interface {
	store.Sources
	store.Profiles
	store.Segments
	store.Journeys
	store.Tasks
	store.RequestKeys
	ListEvents(ctx context.Context, q store.EventQuery) ([]*event.Event, error)
	ListRejections(ctx context.Context, q store.RejectionQuery) ([]*event.Rejection, error)
	IsAdminKey(ctx context.Context, hash string) (bool, error)
}

// KeyCache is told when a source changes, so that ingestion sees it at once.
type KeyCache interface {
	Forget(writeKey string)
}

// API serves /api/v1.
type API struct {
	store    Store
	keys     KeyCache
	profiles *Profiles
	segments *segment.Stage
	commerce *commerce.Service // nil: no commerce endpoints
	messages Messages
	journeys *journey.Engine  // nil: no journey endpoints
	measure  *measure.Service // nil: no measure endpoints
	clock    clock.Clock
	log      *slog.Logger

	mu     sync.Mutex
	admins map[string]time.Time // hashes of admin keys seen valid, until when
}

// New returns the API. keys may be nil.
func New(st Store, keys KeyCache, clk clock.Clock, log *slog.Logger, profiles *Profiles, segments *segment.Stage) *API {
	return &API{store: st, keys: keys, profiles: profiles, segments: segments, clock: clk, log: log, admins: map[string]time.Time{}}
}

// HashKey returns the stored form of an admin key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// The answers to a request without an admin key, or with another key.
var (
	errNoAdminKey = problem.New(problem.KindUnauthorized, "unauthorized",
		"send the admin key as 'Authorization: Bearer KEY'; serve wrote it to the admin-key file of the data directory")
	errNotAdminKey = problem.New(problem.KindUnauthorized, "unauthorized", "this is not an admin key")
)

func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || key == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parcours"`)
			a.fail(w, r, errNoAdminKey)
			return
		}
		ok, err := a.isAdmin(r.Context(), HashKey(strings.TrimSpace(key)))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if !ok {
			a.fail(w, r, errNotAdminKey)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isAdmin checks a key hash, remembering valid ones for a minute.
func (a *API) isAdmin(ctx context.Context, hash string) (bool, error) {
	now := a.clock.Now()
	a.mu.Lock()
	until, ok := a.admins[hash]
	a.mu.Unlock()
	if ok && now.Before(until) {
		return true, nil
	}
	valid, err := a.store.IsAdminKey(ctx, hash)
	if err != nil || !valid {
		return false, err
	}
	a.mu.Lock()
	a.admins[hash] = now.Add(time.Minute)
	a.mu.Unlock()
	return true, nil
}

// fail writes err with the status of its kind (httpjson.Fail, the one
// place that maps errors to statuses).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpjson.Fail(w, r, a.log, err)
}
