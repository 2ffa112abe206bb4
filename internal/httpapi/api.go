// Package httpapi is the management REST API under /api/v1. It requires an
// API key (Authorization: Bearer ...) or a console session whose role
// grants the route's permission (permissions.go, checked in one place:
// access.go), maps domain errors to status codes in one place, and pages
// lists with an opaque cursor.
package httpapi

import (
	"context"
	"github.com/parcours/parcours/internal/conversation"
	"log/slog"
	"net/http"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/clienteling"
	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/loyalty"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/survey"
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
	store.Access
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
	surveys  *survey.Service  // nil: no survey endpoints
	loyalty  *loyalty.Service // nil: no loyalty endpoints
	clock    clock.Clock
	log      *slog.Logger
	// conversations serves customer service (nil: none); chat limits
	// the web chat's requests per client address.
	conversations *conversation.Service
	chat          *chatLimits

	mux    *http.ServeMux // the routes, for the audit log's before
	access *access        // who may do what: keys, sessions, rate limits, audit

	// clienteling is the store associate's customer card; nil: no
	// clienteling endpoints.
	clienteling *clienteling.Service
	// recs proposes products (issue 22); nil: no recommendation
	// endpoints.
	recs *recommendations
}

// New returns the API. keys may be nil.
func New(st Store, keys KeyCache, clk clock.Clock, log *slog.Logger, profiles *Profiles, segments *segment.Stage) *API {
	a := &API{store: st, keys: keys, profiles: profiles, segments: segments, clock: clk, log: log}
	a.access = newAccess(a, AccessOptions{})
	return a
}

// HashKey returns the stored form of an API key (auth.HashSecret).
func HashKey(key string) string { return auth.HashSecret(key) }

// fail writes err with the status of its kind (httpjson.Fail, the one
// place that maps errors to statuses).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpjson.Fail(w, r, a.log, err)
}
