package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

type eventPage struct {
	Events     []*event.Event `json:"events"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// listEvents serves GET /api/v1/events. Filters: user_id, anonymous_id,
// identifier (either), type, event, source, since and until (RFC 3339, on
// the event time), order (desc, the default, or asc), limit, cursor.
func (a *API) listEvents(w http.ResponseWriter, r *http.Request) {
	q, err := eventQuery(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	events, err := a.store.ListEvents(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := eventPage{Events: events}
	if page.Events == nil {
		page.Events = []*event.Event{}
	}
	if len(events) == q.Limit {
		last := events[len(events)-1].Seq
		c := cursor{Before: last}
		if q.Ascending {
			c = cursor{After: last}
		}
		page.NextCursor = c.encode()
	}
	httpjson.Write(w, http.StatusOK, page)
}

func eventQuery(v url.Values) (store.EventQuery, error) {
	q := store.EventQuery{
		UserID:      v.Get("user_id"),
		AnonymousID: v.Get("anonymous_id"),
		Identifier:  v.Get("identifier"),
		Event:       v.Get("event"),
		SourceID:    v.Get("source"),
	}
	if t := v.Get("type"); t != "" {
		typ, ok := event.ParseType(t)
		if !ok {
			return q, problem.Invalid("type", "must be one of identify, track, page, screen, group, alias")
		}
		q.Type = typ
	}
	var err error
	if q.Since, err = timeParam(v, "since"); err != nil {
		return q, err
	}
	if q.Until, err = timeParam(v, "until"); err != nil {
		return q, err
	}
	switch v.Get("order") {
	case "", "desc":
	case "asc":
		q.Ascending = true
	default:
		return q, problem.Invalid("order", "must be asc or desc")
	}
	if q.Limit, err = limitParam(v); err != nil {
		return q, err
	}
	c, err := decodeCursor(v)
	if err != nil {
		return q, err
	}
	q.Before, q.After = c.Before, c.After
	return q, nil
}

type rejectionPage struct {
	Rejections []*event.Rejection `json:"rejections"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

// listRejections serves GET /api/v1/rejections: the events dropped or
// corrected on ingestion, newest first. Filters: source, code.
func (a *API) listRejections(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	limit, err := limitParam(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := decodeCursor(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.store.ListRejections(r.Context(), store.RejectionQuery{
		SourceID: v.Get("source"), Code: v.Get("code"), Before: c.Before, Limit: limit,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := rejectionPage{Rejections: list}
	if page.Rejections == nil {
		page.Rejections = []*event.Rejection{}
	}
	if len(list) == limit {
		page.NextCursor = cursor{Before: list[len(list)-1].ID}.encode()
	}
	httpjson.Write(w, http.StatusOK, page)
}

func timeParam(v url.Values, name string) (time.Time, error) {
	s := v.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := event.ParseTimestamp(s)
	if err != nil {
		return t, problem.Invalid(name, "must be an ISO-8601 date-time such as 2026-05-01T10:00:00Z")
	}
	return t, nil
}

const defaultLimit, maxLimit = 100, 1000

func limitParam(v url.Values) (int, error) {
	s := v.Get("limit")
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, problem.Invalid("limit", "must be a number from 1 to "+strconv.Itoa(maxLimit))
	}
	return n, nil
}
