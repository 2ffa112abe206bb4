package httpapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
)

// WithCommerce gives the API the commerce service; without it the
// commerce endpoints answer 404.
func (a *API) WithCommerce(c *commerce.Service) *API {
	a.commerce = c
	return a
}

// reply writes v, or the error.
func (a *API) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, status, v)
}

func (a *API) listProducts(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r.URL.Query())
	after, err2 := cursorID(r.URL.Query())
	if err = errors.Join(err, err2); err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.commerce.Store().ListProducts(r.Context(), after, limit)
	page := struct {
		Products   []*commerce.Product `json:"products"`
		NextCursor string              `json:"next_cursor,omitempty"`
	}{Products: append([]*commerce.Product{}, list...)}
	if len(list) > 0 {
		page.NextCursor = nextIDCursor(len(list), limit, list[len(list)-1].ID)
	}
	a.reply(w, r, http.StatusOK, page, err)
}

// pathID returns the path value name, checked as a commerce id (field
// names it in the error): an id that cannot exist is a 400, not a 404,
// and never reaches the store.
func pathID(r *http.Request, name, field string) (string, error) {
	id := r.PathValue(name)
	return id, commerce.CheckID(field, id)
}

func (a *API) getProduct(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.commerce.Store().Product(r.Context(), id)
	a.reply(w, r, http.StatusOK, p, err)
}

func (a *API) putProduct(w http.ResponseWriter, r *http.Request) {
	var p commerce.Product
	if err := decodeBody(r, &p); err != nil {
		a.fail(w, r, err)
		return
	}
	if p.ID == "" {
		p.ID = r.PathValue("id")
	}
	if p.ID != r.PathValue("id") {
		a.fail(w, r, problem.Invalid("id", "the body's id differs from the path's"))
		return
	}
	a.reply(w, r, http.StatusOK, &p, a.commerce.UpsertProducts(r.Context(), []*commerce.Product{&p}))
}

func (a *API) listLocations(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r.URL.Query())
	after, err2 := cursorID(r.URL.Query())
	if err = errors.Join(err, err2); err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.commerce.Store().ListLocations(r.Context(), after, limit)
	page := struct {
		Locations  []*commerce.Location `json:"locations"`
		NextCursor string               `json:"next_cursor,omitempty"`
	}{Locations: append([]*commerce.Location{}, list...)}
	if len(list) > 0 {
		page.NextCursor = nextIDCursor(len(list), limit, list[len(list)-1].ID)
	}
	a.reply(w, r, http.StatusOK, page, err)
}

func (a *API) getLocation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	l, err := a.commerce.Store().Location(r.Context(), id)
	a.reply(w, r, http.StatusOK, l, err)
}

func (a *API) putLocation(w http.ResponseWriter, r *http.Request) {
	var l commerce.Location
	if err := decodeBody(r, &l); err != nil {
		a.fail(w, r, err)
		return
	}
	if l.ID == "" {
		l.ID = r.PathValue("id")
	}
	if l.ID != r.PathValue("id") {
		a.fail(w, r, problem.Invalid("id", "the body's id differs from the path's"))
		return
	}
	a.reply(w, r, http.StatusOK, &l, a.commerce.UpsertLocations(r.Context(), []*commerce.Location{&l}))
}

// stockView is a stock row with its availability spelled out.
type stockView struct {
	commerce.StockLevel
	Available int64 `json:"available"`
}

// getStock serves GET /api/v1/stock/{sku}: the SKU's rows at locations
// that exist (a SKU the catalog does not have is a 404).
func (a *API) getStock(w http.ResponseWriter, r *http.Request) {
	sku, err := pathID(r, "sku", "sku")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	known, err := a.commerce.KnownSKU(r.Context(), sku)
	if err == nil && !known {
		err = &commerce.UnknownError{Field: "sku", Kind: commerce.RefSKU, ID: sku}
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rows, err := a.commerce.Stock(r.Context(), sku)
	out := struct {
		SKU       string      `json:"sku"`
		Available int64       `json:"available"`
		Locations []stockView `json:"locations"`
	}{SKU: sku, Locations: []stockView{}}
	for _, l := range rows {
		out.Locations = append(out.Locations, stockView{l, l.Available()})
		out.Available += max(0, l.Available())
	}
	a.reply(w, r, http.StatusOK, out, err)
}

func (a *API) putStock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OnHand int64 `json:"on_hand"`
		Safety int64 `json:"safety"`
	}
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := checkStore(r, r.PathValue("location")); err != nil {
		a.fail(w, r, err)
		return
	}
	changes, err := a.commerce.SetStock(r.Context(), []commerce.StockLevel{{SKU: r.PathValue("sku"), Location: r.PathValue("location"), OnHand: req.OnHand, Safety: req.Safety}})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	l := changes[0].After
	httpjson.Write(w, http.StatusOK, stockView{l, l.Available()})
}

// nearby serves GET /api/v1/stock/{sku}/nearby?lat=&lon=&limit=10, or
// ?customer=ID|kind:value to search around the customer's last known
// position.
func (a *API) nearby(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	limit := 10
	if v.Get("limit") != "" {
		n, err := strconv.Atoi(v.Get("limit"))
		if err != nil || n < 1 || n > 200 {
			a.fail(w, r, problem.Invalid("limit", "must be a number from 1 to 200"))
			return
		}
		limit = n
	}
	var lat, lon float64
	switch {
	case v.Get("lat") != "" || v.Get("lon") != "":
		var err1, err2 error
		lat, err1 = strconv.ParseFloat(v.Get("lat"), 64)
		lon, err2 = strconv.ParseFloat(v.Get("lon"), 64)
		if err1 != nil || err2 != nil {
			a.fail(w, r, problem.Invalid("lat", "lat and lon must both be decimal degrees"))
			return
		}
	case v.Get("customer") != "":
		_, p, err := a.resolveCustomer(r, v.Get("customer"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if p == nil || p.Agg.Location.At.IsZero() {
			a.fail(w, r, problem.Invalid("customer", "no known position for this customer: pass lat and lon"))
			return
		}
		lat, lon = p.Agg.Location.Lat, p.Agg.Location.Lon
	default:
		a.fail(w, r, problem.Invalid("lat", "pass lat and lon, or customer"))
		return
	}
	list, err := a.commerce.Nearby(r.Context(), r.PathValue("sku"), lat, lon, limit)
	a.reply(w, r, http.StatusOK, map[string]any{"sku": r.PathValue("sku"), "lat": lat, "lon": lon,
		"locations": append([]commerce.Availability{}, list...)}, err)
}

// idempotencyHeader is the header a client names a creating request's
// idempotency key with.
const idempotencyHeader = "Idempotency-Key"

// created writes v with 201 Created; a replayed answer (a retry with the
// same idempotency key) says so in Idempotent-Replayed.
func (a *API) created(w http.ResponseWriter, r *http.Request, v any, replayed bool, err error) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	a.reply(w, r, http.StatusCreated, v, err)
}

// adjustStock serves POST /api/v1/stock/adjustments. The key is the
// body's "key" or the Idempotency-Key header.
func (a *API) adjustStock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Key    string           `json:"key"`
		Reason string           `json:"reason"`
		Deltas []commerce.Delta `json:"deltas"`
	}
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if h := r.Header.Get(idempotencyHeader); h != "" {
		if req.Key != "" && req.Key != h {
			a.fail(w, r, problem.Invalid("key", "differs from the Idempotency-Key header: send one of them, or the same"))
			return
		}
		req.Key = h
	}
	for _, d := range req.Deltas {
		if err := checkStore(r, d.Location); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	changes, applied, err := a.commerce.AdjustStock(r.Context(), req.Key, req.Reason, req.Deltas)
	rows := []stockView{}
	for _, c := range changes {
		rows = append(rows, stockView{c.After, c.After.Available()})
	}
	a.reply(w, r, http.StatusOK, map[string]any{"applied": applied, "stock": rows}, err)
}
