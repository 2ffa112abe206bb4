package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/survey"
)

// WithJourneys enables the journey endpoints.
func (a *API) WithJourneys(e *journey.Engine) *API {
	a.journeys = e
	return a
}

// journeyView is a journey as the API shows it.
type journeyView struct {
	*journey.Definition
	Version    int              `json:"version"`
	Status     string           `json:"status"`
	Enrolments map[string]int64 `json:"enrolments"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
}

func (a *API) journeyView(r *http.Request, rec *store.JourneyRecord, d *journey.Definition) (journeyView, error) {
	counts, err := a.store.EnrolmentCounts(r.Context(), rec.ID)
	return journeyView{Definition: d, Version: rec.Version, Status: rec.Status, Enrolments: counts,
		CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt}, err
}

// listJourneys serves GET /api/v1/journeys (?archived=true shows those too).
func (a *API) listJourneys(w http.ResponseWriter, r *http.Request) {
	recs, err := a.store.ListJourneys(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []journeyView{}
	for _, rec := range recs {
		if rec.Status == journey.StatusArchived && r.URL.Query().Get("archived") != "true" {
			continue
		}
		d, err := journey.ParseJSON(rec.Definition)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v, err := a.journeyView(r, rec, d)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out = append(out, v)
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"journeys": out})
}

// getJourney serves GET /api/v1/journeys/{id} (?version=N: that version).
func (a *API) getJourney(w http.ResponseWriter, r *http.Request) {
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			a.fail(w, r, problem.Invalid("version", "must be a positive integer"))
			return
		}
		version = n
	}
	rec, d, err := a.journeys.Definition(r.Context(), r.PathValue("id"), version)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := a.journeyView(r, rec, d)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, v)
}

// saveJourneys serves POST /api/v1/journeys: one definition, or
// {"journeys": [...]}, validated together; a changed one gets a new
// version. ?dry_run=true validates without saving (&with_segments=a,b:
// as if those segments existed).
func (a *API) saveJourneys(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 4<<20))
	if err == nil {
		err = checkBody(body)
	} else {
		err = problem.Invalid("body", err.Error())
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var many struct {
		Journeys []json.RawMessage `json:"journeys"`
	}
	raws := []json.RawMessage{body}
	if json.Unmarshal(body, &many) == nil && many.Journeys != nil {
		raws = many.Journeys
	}
	var defs []*journey.Definition
	for _, raw := range raws {
		d, err := journey.ParseJSON(bytes.TrimSpace(raw))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		defs = append(defs, d)
	}
	if r.URL.Query().Get("dry_run") == "true" {
		// with_segments: segments applied with the journeys, not saved
		// yet either.
		var also []string
		if s := r.URL.Query().Get("with_segments"); s != "" {
			also = strings.Split(s, ",")
		}
		ctx := r.Context()
		// with_surveys: surveys applied with the journeys, not saved yet.
		if s := r.URL.Query().Get("with_surveys"); s != "" {
			ctx = survey.WithApplied(ctx, strings.Split(s, ","))
		}
		if err := a.journeys.Validate(ctx, defs, also...); err != nil {
			a.fail(w, r, err)
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"valid": true, "journeys": defs})
		return
	}
	recs, err := a.journeys.Save(r.Context(), defs)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []journeyView{}
	for i, rec := range recs {
		v, err := a.journeyView(r, rec, defs[i])
		if err != nil {
			a.fail(w, r, err)
			return
		}
		out = append(out, v)
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"journeys": out})
}

// journeyStatus serves pause, resume and archive.
func (a *API) journeyStatus(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if err := a.journeys.SetStatus(r.Context(), id, status); err != nil {
			a.fail(w, r, err)
			return
		}
		rec, d, err := a.journeys.Definition(r.Context(), id, 0)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v, err := a.journeyView(r, rec, d)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		httpjson.Write(w, http.StatusOK, v)
	}
}

// enrol serves POST /api/v1/journeys/{id}/enrol {"profile_id": N}; an
// Idempotency-Key header makes a retry return the enrolment the key made.
func (a *API) enrol(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ProfileID int64 `json:"profile_id"`
	}
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.ProfileID <= 0 {
		a.fail(w, r, problem.Invalid("profile_id", "is required: the customer's profile id"))
		return
	}
	a.once(w, r, scopeEnrolment, r.Header.Get(idempotencyHeader), in, func(w http.ResponseWriter, at attempt) {
		if at.inDoubt {
			// The first run may have enrolled the profile after it
			// claimed the key: that enrolment is the answer.
			if en, err := a.enrolledSince(r, r.PathValue("id"), in.ProfileID, at.claimed); err != nil || en != nil {
				a.reply(w, r, http.StatusCreated, en, err)
				return
			}
		}
		en, err := a.journeys.Enrol(r.Context(), r.PathValue("id"), in.ProfileID)
		if _, refused := errors.AsType[*journey.RefusedError](err); refused && at.key != "" {
			// A run with the same key (in doubt, racing this one)
			// enrolled the profile meanwhile.
			if prior, perr := a.enrolledSince(r, r.PathValue("id"), in.ProfileID, at.claimed); perr == nil && prior != nil {
				en, err = prior, nil
			}
		}
		a.reply(w, r, http.StatusCreated, en, err)
	})
}

// enrolledSince returns the profile's latest enrolment in the journey
// entered at or after since, or nil.
func (a *API) enrolledSince(r *http.Request, journeyID string, profileID int64, since time.Time) (*store.Enrolment, error) {
	list, err := a.store.ProfileEnrolments(r.Context(), []int64{profileID})
	if err != nil {
		return nil, err
	}
	var found *store.Enrolment
	for _, en := range list {
		if en.Journey == journeyID && !en.EnteredAt.Before(since) && (found == nil || en.EnteredAt.After(found.EnteredAt)) {
			found = en
		}
	}
	return found, nil
}

// migrate serves POST /api/v1/journeys/{id}/migrate {"from_version": N}:
// the active enrolments of version N move to the latest version where
// their step still exists.
func (a *API) migrate(w http.ResponseWriter, r *http.Request) {
	var in struct {
		FromVersion int `json:"from_version"`
	}
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.journeys.Migrate(r.Context(), r.PathValue("id"), in.FromVersion)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, res)
}

// journeyStats serves GET /api/v1/journeys/{id}/stats: enrolments by
// status, exits by reason, messages by channel, outcomes per step, and
// how the customers of each split variant stand.
func (a *API) journeyStats(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := a.store.JourneyVersion(r.Context(), id, 0); err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := a.store.JourneyStats(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, st)
}
