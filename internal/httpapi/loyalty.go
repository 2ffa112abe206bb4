package httpapi

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/loyalty"
	"github.com/parcours/parcours/internal/problem"
)

// WithLoyalty enables /api/v1/loyalty.
func (a *API) WithLoyalty(l *loyalty.Service) *API {
	a.loyalty = l
	return a
}

func (a *API) loyaltyOnly(h http.HandlerFunc) http.HandlerFunc {
	if a.loyalty == nil {
		return noSuchEndpoint
	}
	return h
}

// memberHelp says how a member is named in a loyalty path.
const memberHelp = "name the member by a profile id, kind:value (loyalty_id:4006381333931, phone:+33612345678, email:ana@example.com, user_id:42), or a bare loyalty card number"

// resolveMember finds the member a loyalty path names, through the
// unified profile: an identifier as kind:value, a bare value (an email, a
// phone, else a loyalty card, else a store customer number), or a profile
// id (bare digits that no card or customer number names: a till scans
// cards).
func (a *API) resolveMember(r *http.Request) (loyalty.Member, error) {
	s := strings.TrimSpace(r.PathValue("identifier"))
	m, err := a.memberByIdentifier(r, s)
	if errors.Is(err, problem.ErrNotFound) {
		// Bare digits that no card names: a profile id.
		if id, perr := strconv.ParseInt(s, 10, 64); perr == nil && id > 0 {
			p, err := a.store.Profile(r.Context(), id)
			if errors.Is(err, problem.ErrNotFound) {
				return loyalty.Member{}, problem.NotFound("member", s)
			}
			if err != nil {
				return loyalty.Member{}, err
			}
			return loyalty.MemberOf(p), nil
		}
	}
	return m, err
}

// memberByIdentifier finds the holder of an identifier (kind:value, or a
// bare value: an email, a phone, else a loyalty card, else a store
// customer number).
func (a *API) memberByIdentifier(r *http.Request, s string) (loyalty.Member, error) {
	var raws []identity.Raw
	if x, ok := identity.ParseIdentifier(s); ok && knownIdentifierKind(x.Kind) {
		raws = []identity.Raw{{Kind: x.Kind, Value: x.Value}}
	} else {
		switch {
		case strings.Contains(s, "@"):
			raws = []identity.Raw{{Kind: identity.Email, Value: s}}
		case strings.HasPrefix(s, "+"):
			raws = []identity.Raw{{Kind: identity.Phone, Value: s}}
		default:
			raws = []identity.Raw{{Kind: identity.LoyaltyID, Value: s}, {Kind: identity.StoreCustomerID, Value: s}}
		}
	}
	rules := a.profiles.Rules
	if rules == nil {
		rules = identity.DefaultRules()
	}
	var ids []identity.Identifier
	var why string
	for _, raw := range raws {
		id, w := rules.Normalize(raw)
		if w != "" {
			why = w
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return loyalty.Member{}, problem.Invalid("identifier", why+": "+memberHelp)
	}
	h, err := a.store.Holders(r.Context(), ids)
	if err != nil {
		return loyalty.Member{}, err
	}
	for _, id := range ids {
		if h[id] != 0 {
			p, err := a.store.Profile(r.Context(), h[id])
			if err != nil {
				return loyalty.Member{}, err
			}
			return loyalty.MemberOf(p), nil
		}
	}
	return loyalty.Member{}, problem.NotFound("member", s)
}

func knownIdentifierKind(k identity.Kind) bool {
	switch k {
	case identity.UserID, identity.AnonymousID, identity.Email, identity.Phone, identity.LoyaltyID,
		identity.DeviceToken, identity.StoreCustomerID:
		return true
	}
	return strings.HasPrefix(string(k), identity.ExternalPrefix)
}

// getProgramme serves GET /api/v1/loyalty/programme.
func (a *API) getProgramme(w http.ResponseWriter, r *http.Request) {
	p, err := a.loyalty.Programme(r.Context())
	a.reply(w, r, http.StatusOK, p, err)
}

// saveProgramme serves POST /api/v1/loyalty/programme (JSON; ?dry_run=true
// validates only): the programme in force from now on.
func (a *API) saveProgramme(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err == nil {
		err = checkBody(body)
	} else {
		err = problem.Invalid("body", err.Error())
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := loyalty.ParseJSON(body)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("dry_run") == "true" {
		httpjson.Write(w, http.StatusOK, map[string]any{"valid": true, "programme": p})
		return
	}
	rec, changed, err := a.loyalty.SaveProgramme(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"id": rec.ID, "version": rec.Version, "changed": changed, "programme": p})
}

// redeem serves POST /api/v1/loyalty/{identifier}/redeem {"reward"} or
// {"points"}, with an Idempotency-Key: a till's redemption, once per key.
func (a *API) redeem(w http.ResponseWriter, r *http.Request) {
	var req loyalty.RedeemRequest
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	m, err := a.resolveMember(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	req.Key = r.Header.Get(idempotencyHeader)
	rc, err := a.loyalty.Redeem(r.Context(), m, req)
	a.replyReceipt(w, r, rc, err)
}

// earn serves POST /api/v1/loyalty/{identifier}/earn: a till's order
// ({"order_id", "lines"} or {"order_id", "total"}: once per order, with
// the log's Order Completed too) or an adjustment ({"points"}, with an
// Idempotency-Key).
func (a *API) earn(w http.ResponseWriter, r *http.Request) {
	var req loyalty.EarnRequest
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	m, err := a.resolveMember(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	req.Key = r.Header.Get(idempotencyHeader)
	rc, err := a.loyalty.Earn(r.Context(), m, req)
	a.replyReceipt(w, r, rc, err)
}

// replyReceipt answers 201 for a new entry, 200 for a replay.
func (a *API) replyReceipt(w http.ResponseWriter, r *http.Request, rc *loyalty.Receipt, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusCreated
	if rc.Replayed {
		status = http.StatusOK
		w.Header().Set("Idempotent-Replayed", "true")
	}
	httpjson.Write(w, status, rc)
}

// statement serves GET /api/v1/loyalty/{identifier}/statement?before=&limit=.
func (a *API) statement(w http.ResponseWriter, r *http.Request) {
	m, err := a.resolveMember(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := limitParam(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var before int64
	if s := r.URL.Query().Get("before"); s != "" {
		if before, err = strconv.ParseInt(s, 10, 64); err != nil || before < 0 {
			a.fail(w, r, problem.Invalid("before", "must be an entry id (next_before of the previous page)"))
			return
		}
	}
	st, err := a.loyalty.Statement(r.Context(), m.ProfileID, before, limit)
	a.reply(w, r, http.StatusOK, st, err)
}

// liability serves GET /api/v1/loyalty/liability?days=30: points
// outstanding × value, for finance, and the period's flows.
func (a *API) liability(w http.ResponseWriter, r *http.Request) {
	days := 30
	if s := r.URL.Query().Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 || n > 3660 {
			a.fail(w, r, problem.Invalid("days", "must be a number of days between 1 and 3660"))
			return
		}
		days = n
	}
	rep, err := a.loyalty.Liability(r.Context(), days)
	a.reply(w, r, http.StatusOK, rep, err)
}
