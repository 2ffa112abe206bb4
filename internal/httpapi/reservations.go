package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/problem"
)

// createReservation serves POST /api/v1/reservations; an Idempotency-Key
// header makes a retry return the reservation the key made.
func (a *API) createReservation(w http.ResponseWriter, r *http.Request) {
	var req struct {
		commerce.ReserveRequest
		TTL string `json:"ttl"`
	}
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil || d <= 0 {
			a.fail(w, r, problem.Invalid("ttl", "must be a positive duration such as 2h or 30m"))
			return
		}
		req.ReserveRequest.TTL = d
	}
	if err := checkStore(r, req.ReserveRequest.Location); err != nil {
		a.fail(w, r, err)
		return
	}
	req.ReserveRequest.Key = r.Header.Get(idempotencyHeader)
	res, replayed, err := a.commerce.ReserveOnce(r.Context(), req.ReserveRequest)
	a.created(w, r, res, replayed, err)
}

func (a *API) listReservations(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	limit, err := limitParam(v)
	after, err2 := cursorID(v)
	if err = errors.Join(err, err2); err != nil {
		a.fail(w, r, err)
		return
	}
	q, err := reservationQuery(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if q.Location, err = scopedStore(r, q.Location); err != nil {
		a.fail(w, r, err)
		return
	}
	q.After, q.Limit = after, limit
	list, err := a.commerce.Store().ListReservations(r.Context(), q)
	page := struct {
		Reservations []*commerce.Reservation `json:"reservations"`
		NextCursor   string                  `json:"next_cursor,omitempty"`
	}{Reservations: append([]*commerce.Reservation{}, list...)}
	if len(list) > 0 {
		page.NextCursor = nextIDCursor(len(list), limit, list[len(list)-1].ID)
	}
	a.reply(w, r, http.StatusOK, page, err)
}

func (a *API) getReservation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.commerce.Store().Reservation(r.Context(), id)
	if err == nil {
		err = checkStore(r, res.Location)
	}
	a.reply(w, r, http.StatusOK, res, err)
}

func (a *API) releaseReservation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if res, err := a.commerce.Store().Reservation(r.Context(), id); err != nil || checkStore(r, res.Location) != nil {
		if err == nil {
			err = checkStore(r, res.Location)
		}
		a.fail(w, r, err)
		return
	}
	res, err := a.commerce.Release(r.Context(), id)
	a.reply(w, r, http.StatusOK, res, err)
}

// reservationQuery reads the filters of GET /api/v1/reservations.
func reservationQuery(v url.Values) (commerce.ReservationQuery, error) {
	q := commerce.ReservationQuery{SKU: v.Get("sku"), Location: v.Get("location_id"), OrderID: v.Get("order_id"), Status: v.Get("status")}
	for field, id := range map[string]string{"sku": q.SKU, "location_id": q.Location, "order_id": q.OrderID} {
		if id != "" {
			if err := commerce.CheckID(field, id); err != nil {
				return q, err
			}
		}
	}
	if q.Status != "" && !slices.Contains(commerce.ReservationStatuses, q.Status) {
		return q, problem.Invalid("status", "must be one of "+strings.Join(commerce.ReservationStatuses, ", "))
	}
	return q, nil
}
