package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/source"
)

type sourceList struct {
	Sources []*source.Source `json:"sources"`
}

func (a *API) listSources(w http.ResponseWriter, r *http.Request) {
	list, err := a.store.ListSources(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if list == nil {
		list = []*source.Source{}
	}
	httpjson.Write(w, http.StatusOK, sourceList{list})
}

type createSourceRequest struct {
	Name    string `json:"name"`
	Channel string `json:"channel"`
	StoreID string `json:"store_id"`
}

func (a *API) createSource(w http.ResponseWriter, r *http.Request) {
	var req createSourceRequest
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	src, err := source.New(req.Name, req.Channel, req.StoreID, a.clock.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.CreateSource(r.Context(), src); err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, src)
}

func (a *API) getSource(w http.ResponseWriter, r *http.Request) {
	src, err := a.store.Source(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, src)
}

func (a *API) disableSource(w http.ResponseWriter, r *http.Request) {
	src, err := a.store.Source(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.DisableSource(r.Context(), src.ID, a.clock.Now()); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.keys != nil {
		a.keys.Forget(src.WriteKey)
	}
	if src, err = a.store.Source(r.Context(), src.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, src)
}

// decodeBody reads a JSON request body into v, refusing unknown fields so
// that a typo is an error and not a silently ignored setting.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.Invalid("body", "not a valid JSON object for this endpoint: "+err.Error())
	}
	return nil
}
