package httpapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/parcours/parcours/internal/commerce"
)

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
			a.fail(w, r, &inputError{"ttl", "must be a positive duration such as 2h or 30m"})
			return
		}
		req.ReserveRequest.TTL = d
	}
	res, err := a.commerce.Reserve(r.Context(), req.ReserveRequest)
	a.reply(w, r, http.StatusCreated, res, err)
}

func (a *API) listReservations(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	limit, err := limitParam(v)
	after, err2 := idCursor(v)
	if err = errors.Join(err, err2); err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.commerce.Store().ListReservations(r.Context(), commerce.ReservationQuery{
		SKU: v.Get("sku"), Location: v.Get("location_id"), OrderID: v.Get("order_id"), Status: v.Get("status"), After: after, Limit: limit})
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
	res, err := a.commerce.Store().Reservation(r.Context(), r.PathValue("id"))
	a.reply(w, r, http.StatusOK, res, err)
}

func (a *API) releaseReservation(w http.ResponseWriter, r *http.Request) {
	res, err := a.commerce.Release(r.Context(), r.PathValue("id"))
	a.reply(w, r, http.StatusOK, res, err)
}
