package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"unicode/utf8"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/source"
	"github.com/parcours/parcours/internal/store"
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

// createSource serves POST /api/v1/sources; an Idempotency-Key header
// makes a retry return the source (and write key) the key created.
func (a *API) createSource(w http.ResponseWriter, r *http.Request) {
	var req createSourceRequest
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	a.once(w, r, scopeSource, r.Header.Get(idempotencyHeader), req, func(w http.ResponseWriter, at attempt) {
		src, err := source.New(req.Name, req.Channel, req.StoreID, a.clock.Now())
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if at.key != "" {
			// The key names the source: a run in doubt, or one racing
			// it, meets the one the other run created.
			src.ID = source.KeyedID(at.key, at.claimed)
		}
		err = a.store.CreateSource(r.Context(), src)
		if errors.Is(err, store.ErrConflict) && at.key != "" {
			if prior, perr := a.store.Source(r.Context(), src.ID); perr == nil && prior.ID == src.ID {
				src, err = prior, nil
			}
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		httpjson.Write(w, http.StatusCreated, src)
	})
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
// that a typo is an error and not a silently ignored setting, and text no
// engine may store (checkBody).
func decodeBody(r *http.Request, v any) error {
	return decodeBodyMax(r, v, 1<<20)
}

// decodeBodyMax is decodeBody for a body of up to max bytes.
func decodeBodyMax(r *http.Request, v any, max int64) error {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, max))
	if err != nil {
		return problem.Invalid("body", "not a valid JSON object for this endpoint: "+err.Error())
	}
	if !utf8.Valid(b) {
		return problem.Invalid("body", fmt.Sprintf("is not valid UTF-8 at byte %d: send JSON as UTF-8", invalidAt(b)))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problem.Invalid("body", "not a valid JSON object for this endpoint: "+err.Error())
	}
	return checkStrings(reflect.ValueOf(v), "")
}
