package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/parcours/parcours/internal/commerce"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// createOrder serves POST /api/v1/orders; an Idempotency-Key header
// makes a retry return the order the key placed.
func (a *API) createOrder(w http.ResponseWriter, r *http.Request) {
	var o commerce.Order
	if err := decodeBody(r, &o); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := checkStore(r, o.Location); err != nil {
		a.fail(w, r, err)
		return
	}
	placed, replayed, err := a.commerce.PlaceOrderOnce(r.Context(), r.Header.Get(idempotencyHeader), &o)
	a.created(w, r, placed, replayed, err)
}

// listOrders serves GET /api/v1/orders?customer=kind:value&status=, newest
// first.
func (a *API) listOrders(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	limit, err := limitParam(v)
	before, err2 := cursorID(v)
	if err = errors.Join(err, err2); err != nil {
		a.fail(w, r, err)
		return
	}
	if c := v.Get("customer"); len(c) > 512 || strings.ContainsFunc(c, unicode.IsControl) {
		a.fail(w, r, problem.Invalid("customer", "must be kind:value, at most 512 bytes without control characters"))
		return
	}
	list, err := a.commerce.Store().ListOrders(r.Context(), commerce.OrderQuery{
		Customer: v.Get("customer"), Status: commerce.Status(v.Get("status")), Before: before, Limit: limit})
	page := struct {
		Orders     []*commerce.Order `json:"orders"`
		NextCursor string            `json:"next_cursor,omitempty"`
	}{Orders: []*commerce.Order{}}
	for _, o := range list {
		// A store role sees its stores' orders: a page may hold fewer
		// than the limit, and the cursor goes on from the last read.
		if checkStore(r, o.Location) == nil {
			page.Orders = append(page.Orders, o)
		}
	}
	if len(list) > 0 {
		page.NextCursor = nextIDCursor(len(list), limit, list[len(list)-1].ID)
	}
	a.reply(w, r, http.StatusOK, page, err)
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "id")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	o, err := a.commerce.Order(r.Context(), id)
	if err == nil {
		err = checkStore(r, o.Location)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, map[string]any{"order": o, "next": commerce.Next(o.Fulfilment, o.Status)}, nil)
}

// transitionOrder serves POST /api/v1/orders/{id}/transitions {"to": "ready_for_pickup"}.
func (a *API) transitionOrder(w http.ResponseWriter, r *http.Request) {
	var req struct {
		To   commerce.Status `json:"to"`
		Note string          `json:"note"`
	}
	id, err := pathID(r, "id", "id")
	if err == nil {
		err = decodeBody(r, &req)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if req.To == "" {
		a.fail(w, r, problem.Invalid("to", "is required: the status to move the order to"))
		return
	}
	if err := a.orderInScope(r, id); err != nil {
		a.fail(w, r, err)
		return
	}
	o, err := a.commerce.Transition(r.Context(), id, req.To, req.Note)
	a.reply(w, r, http.StatusOK, o, err)
}

// createReturn serves POST /api/v1/orders/{id}/returns; an
// Idempotency-Key header makes a retry return the return the key
// recorded, instead of restocking and refunding twice.
func (a *API) createReturn(w http.ResponseWriter, r *http.Request) {
	var ret commerce.Return
	id, err := pathID(r, "id", "id")
	if err == nil {
		err = decodeBody(r, &ret)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.orderInScope(r, id); err != nil {
		a.fail(w, r, err)
		return
	}
	ret.OrderID = id
	got, replayed, err := a.commerce.RecordReturnOnce(r.Context(), r.Header.Get(idempotencyHeader), &ret)
	a.created(w, r, got, replayed, err)
}

func (a *API) listReturns(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "id")
	if err == nil {
		err = a.orderInScope(r, id)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.commerce.Store().Returns(r.Context(), id)
	a.reply(w, r, http.StatusOK, map[string]any{"returns": append([]*commerce.Return{}, list...)}, err)
}

// resolveCustomer turns a profile id or a kind:value identifier into the
// key a cart is kept under: for a customer with a profile (a profile id,
// or an identifier a profile holds), the profile's one cart
// (commerce.Service.CartKey), whichever of its identifiers names it; the
// profile is returned too.
func (a *API) resolveCustomer(r *http.Request, s string) (string, *profile.Profile, error) {
	if id, err := strconv.ParseInt(s, 10, 64); err == nil {
		p, err := a.store.Profile(r.Context(), id)
		if err != nil {
			return "", nil, err
		}
		key, err := a.commerce.CartKey(r.Context(), p)
		return key, p, err
	}
	raw, ok := identity.ParseIdentifier(s)
	if !ok {
		return "", nil, problem.Invalid("customer", "must be a profile id or an identifier as kind:value, e.g. user_id:42 or anonymous_id:a1b2")
	}
	rules := a.profiles.Rules
	if rules == nil {
		rules = identity.DefaultRules()
	}
	id, why := rules.Normalize(identity.Raw{Kind: raw.Kind, Value: raw.Value})
	if why != "" {
		return "", nil, problem.Invalid("customer", why)
	}
	h, err := a.store.Holders(r.Context(), []identity.Identifier{id})
	if err != nil || h[id] == 0 {
		return id.String(), nil, err
	}
	p, err := a.store.Profile(r.Context(), h[id])
	if err != nil {
		return "", nil, err
	}
	if len(commerce.CartKeys(p, nil)) == 0 {
		return id.String(), p, nil // an identifier of a kind carts are not kept under, on a profile of none
	}
	key, err := a.commerce.CartKey(r.Context(), p)
	return key, p, err
}

// getCart serves GET /api/v1/carts/{customer}: the one cart every channel
// (web, app, a store associate, the call center) loads.
func (a *API) getCart(w http.ResponseWriter, r *http.Request) {
	key, _, err := a.resolveCustomer(r, r.PathValue("customer"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.commerce.Cart(r.Context(), key)
	a.reply(w, r, http.StatusOK, cartView(c), err)
}

// putCart serves PUT /api/v1/carts/{customer} {"items": [...], "currency",
// "version"}: it replaces the items; version, if sent, must be current.
func (a *API) putCart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Items    []commerce.CartItem `json:"items"`
		Currency string              `json:"currency"`
		Channel  string              `json:"channel"`
		Version  int64               `json:"version"`
	}
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	key, _, err := a.resolveCustomer(r, r.PathValue("customer"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.commerce.SetCart(r.Context(), key, req.Items, req.Currency, req.Channel, req.Version)
	if errors.Is(err, store.ErrConflict) {
		err = problem.Invalid("version", "the cart changed meanwhile: load it again")
	}
	a.reply(w, r, http.StatusOK, cartView(c), err)
}

func cartView(c *commerce.Cart) any {
	if c == nil {
		return nil
	}
	if c.Items == nil {
		c.Items = []commerce.CartItem{}
	}
	return struct {
		*commerce.Cart
		Total float64 `json:"total"`
	}{c, c.Total()}
}

// orderInScope finds an order and refuses it to a store role of other
// stores.
func (a *API) orderInScope(r *http.Request, id string) error {
	o, err := a.commerce.Order(r.Context(), id)
	if err != nil {
		return err
	}
	return checkStore(r, o.Location)
}
