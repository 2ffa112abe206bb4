package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
)

// The store roles (store_manager, store_staff) see and change only their
// stores' tasks and stock. The permission check lets them reach the route;
// these checks, in the handlers, keep them to their stores.

// scopedStore returns the store a list is limited to: the one asked for,
// which must be one of a store role's stores; for a store role that asked
// for none, its only store, or a 400 listing its stores.
func scopedStore(r *http.Request, asked string) (string, error) {
	p := auth.FromContext(r.Context())
	if p == nil || !p.Role.Scoped() {
		return asked, nil
	}
	if asked == "" {
		if len(p.Stores) == 1 {
			return p.Stores[0], nil
		}
		return "", problem.Invalidf("store_id", "the %s %s works in several stores (%s): pass one as store_id", p.Kind, p.ID, strings.Join(p.Stores, ", "))
	}
	if !p.InStore(asked) {
		return "", notYourStore(p, asked)
	}
	return asked, nil
}

// checkStore refuses a thing of another store than a store role's own.
func checkStore(r *http.Request, storeID string) error {
	if p := auth.FromContext(r.Context()); p != nil && !p.InStore(storeID) {
		return notYourStore(p, storeID)
	}
	return nil
}

func notYourStore(p *auth.Principal, storeID string) error {
	return &problem.Error{Kind: problem.KindForbidden, Code: "forbidden",
		Message: "store " + storeID + " is not one of the stores of the " + p.Kind + " " + p.ID + " (" + strings.Join(p.Stores, ", ") + ")",
		Details: map[string]string{"store_id": storeID}}
}

// checkCustomer refuses a store role a customer none of its stores has
// seen (no event of their tills, no order naming them): store staff see
// the customers of their stores, not the whole file.
func checkCustomer(r *http.Request, p *profile.Profile) error {
	pr := auth.FromContext(r.Context())
	if pr == nil || !pr.Role.Scoped() || p.Agg.SeenAt(pr.Stores) {
		return nil
	}
	return &problem.Error{Kind: problem.KindForbidden, Code: "forbidden",
		Message: fmt.Sprintf("profile %d was never seen at the stores of the %s %s (%s): store roles see their stores' customers", p.ID, pr.Kind, pr.ID, strings.Join(pr.Stores, ", ")),
		Details: map[string]string{"profile_id": strconv.FormatInt(p.ID, 10)}}
}
