package httpapi

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
)

// errNoPrivacy answers the privacy endpoints of an API built without the
// privacy service (never the case in serve).
var errNoPrivacy = problem.New(problem.KindUnavailable, "unavailable", "access and erasure requests are not served by this process")

// exportProfile serves GET /api/v1/profiles/{id}/export: the access
// request's archive (privacy.Service.Export), a zip of JSON files with a
// manifest. It is built whole before the first byte is sent, so that a
// failure is an error response and not a truncated archive.
func (a *API) exportProfile(w http.ResponseWriter, r *http.Request) {
	if a.profiles.Privacy == nil {
		a.fail(w, r, errNoPrivacy)
		return
	}
	id, err := profileID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	m, err := a.profiles.Privacy.Export(r.Context(), id, &buf)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="parcours-profile-`+strconv.FormatInt(m.ProfileID, 10)+`.zip"`)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// eraseProfile serves DELETE /api/v1/profiles/{id}: erasure
// (privacy.Service.Erase). ?reason= is kept with the erasure's record.
func (a *API) eraseProfile(w http.ResponseWriter, r *http.Request) {
	id, err := profileID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.erase(w, r, id)
}

// eraseByIdentifier serves DELETE /api/v1/profiles?email=... (or any
// identifier kind, or ?identifier=kind:value): the erasure of whoever
// holds it.
func (a *API) eraseByIdentifier(w http.ResponseWriter, r *http.Request) {
	if a.profiles.Privacy == nil {
		a.fail(w, r, errNoPrivacy)
		return
	}
	raw, err := identifierParam(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	id, err := a.profiles.Privacy.Lookup(r.Context(), raw)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.erase(w, r, id)
}

func (a *API) erase(w http.ResponseWriter, r *http.Request, id int64) {
	if a.profiles.Privacy == nil {
		a.fail(w, r, errNoPrivacy)
		return
	}
	rec, err := a.profiles.Privacy.Erase(r.Context(), id, r.URL.Query().Get("reason"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"erasure": rec})
}

// identifierParam reads the identifier a request names: ?email=...,
// ?phone=..., any kind of lookupKinds, or ?identifier=kind:value.
func identifierParam(r *http.Request) (identity.Raw, error) {
	q := r.URL.Query()
	if s := q.Get("identifier"); s != "" {
		id, ok := identity.ParseIdentifier(s)
		if !ok {
			return identity.Raw{}, problem.Invalid("identifier", "must be kind:value, e.g. email:sophie@example.fr")
		}
		return identity.Raw{Kind: id.Kind, Value: id.Value}, nil
	}
	for _, k := range lookupKinds {
		if v := q.Get(string(k)); v != "" {
			return identity.Raw{Kind: k, Value: v}, nil
		}
	}
	return identity.Raw{}, problem.Invalid("identifier", "name whom to erase: ?email=..., ?phone=..., ?user_id=... or ?identifier=kind:value")
}

// listErasures serves GET /api/v1/erasures: the record of erasures,
// newest first (?limit=, default 50); they name nobody.
func (a *API) listErasures(w http.ResponseWriter, r *http.Request) {
	if a.profiles.Privacy == nil {
		a.fail(w, r, errNoPrivacy)
		return
	}
	limit, err := limitParam(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.profiles.Privacy.Store.Erasures(r.Context(), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"erasures": list})
}

// runRetention serves POST /api/v1/retention/run: one retention pass now
// (serve also runs one every --retention-every), answering what it removed.
func (a *API) runRetention(w http.ResponseWriter, r *http.Request) {
	if a.profiles.Retention == nil {
		a.fail(w, r, errNoPrivacy)
		return
	}
	rep, err := a.profiles.Retention.Run(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"removed": rep, "policy": a.profiles.Retention.Policy.View()})
}
