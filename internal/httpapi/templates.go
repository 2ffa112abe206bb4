package httpapi

import (
	"net/http"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/message"
	"github.com/parcours/parcours/internal/store"
)

func (a *API) listTemplates(w http.ResponseWriter, r *http.Request) {
	list, err := a.messages.Templates(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if list == nil {
		list = []*store.TemplateRecord{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"templates": list})
}

// saveTemplate serves POST /api/v1/templates (id in the body) and PUT
// /api/v1/templates/{id}.
func (a *API) saveTemplate(w http.ResponseWriter, r *http.Request) {
	var in message.TemplateInput
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if id := r.PathValue("id"); id != "" {
		in.ID = id
	}
	rec, err := a.messages.SaveTemplate(r.Context(), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if rec.Version == 1 {
		status = http.StatusCreated
	}
	httpjson.Write(w, status, rec)
}

func (a *API) getTemplate(w http.ResponseWriter, r *http.Request) {
	rec, err := a.messages.Template(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, rec)
}

func (a *API) deleteTemplate(w http.ResponseWriter, r *http.Request) {
	if err := a.messages.DeleteTemplate(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) previewTemplate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ProfileID  int64  `json:"profile_id"`
		Identifier string `json:"identifier"`
	}
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	id, err := a.resolveProfile(r.Context(), in.ProfileID, in.Identifier)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.messages.Preview(r.Context(), r.PathValue("id"), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, p)
}
