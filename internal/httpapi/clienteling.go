package httpapi

import (
	"cmp"
	"net/http"
	"strings"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/clienteling"
	"github.com/parcours/parcours/internal/httpjson"
)

// WithClienteling gives the API the store associate's customer card
// (issue 21.5); without it the clienteling endpoints answer 404.
func (a *API) WithClienteling(c *clienteling.Service) *API {
	a.clienteling = c
	return a
}

// clientelingOnly serves h when the API has the clienteling service.
func (a *API) clientelingOnly(h http.HandlerFunc) http.HandlerFunc {
	if a.clienteling == nil {
		return noSuchEndpoint
	}
	return h
}

// viewer is who asks for a card: the store they stand in, and for a
// store role the stores whose tasks they see.
func viewer(r *http.Request, storeID string) clienteling.Viewer {
	v := clienteling.Viewer{Store: storeID}
	if p := auth.FromContext(r.Context()); p != nil && p.Role.Scoped() {
		v.Stores = p.Stores
	}
	return v
}

// findCustomer serves GET /api/v1/clienteling/customers?phone=|email=|
// card=|code=&store=: the whole card of the customer in front of the
// associate in one call. A store role sees only customers its stores have
// seen, and is kept to its stores (store defaults to its only one).
func (a *API) findCustomer(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	storeID, err := scopedStore(r, v.Get("store"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	found, err := a.clienteling.Find(r.Context(), clienteling.Query{Phone: plusPhone(v.Get("phone")), Email: v.Get("email"), Card: v.Get("card"), Code: v.Get("code")})
	if err == nil {
		err = checkCustomer(r, found.Profile)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	view, err := a.clienteling.View(r.Context(), found.Profile, found.By, viewer(r, storeID))
	a.reply(w, r, http.StatusOK, view, err)
}

// addCustomerNote serves POST /api/v1/clienteling/customers/{id}/notes
// {"text", "store_id", "key"}: the note becomes a Store Note Added event
// on the customer's timeline. The key (the body's, else the
// Idempotency-Key header) makes a retry add it once.
func (a *API) addCustomerNote(w http.ResponseWriter, r *http.Request) {
	p, ok := a.pathProfile(w, r)
	if !ok {
		return
	}
	var req struct {
		Text    string `json:"text"`
		StoreID string `json:"store_id"`
		Key     string `json:"key"`
	}
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	storeID, err := scopedStore(r, req.StoreID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	author := ""
	if pr := auth.FromContext(r.Context()); pr != nil {
		author = pr.Actor()
	}
	added, err := a.clienteling.AddNote(r.Context(), p, clienteling.NoteInput{Text: req.Text, StoreID: storeID, Author: author,
		Key: cmp.Or(req.Key, r.Header.Get(idempotencyHeader))})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusAccepted, added)
}

// plusPhone restores the + of an international number sent unescaped
// (?phone=+33612345678 decodes to " 33612345678"): read as a national
// number it would name someone else, or no one.
func plusPhone(s string) string {
	if t := strings.TrimLeft(s, " "); t != s && t != "" && t[0] >= '0' && t[0] <= '9' {
		return "+" + t
	}
	return s
}
