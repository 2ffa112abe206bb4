package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/survey"
)

// WithSurveys enables /api/v1/surveys and the public survey page /s/.
func (a *API) WithSurveys(s *survey.Service) *API {
	a.surveys = s
	return a
}

func (a *API) surveysOnly(h http.HandlerFunc) http.HandlerFunc {
	if a.surveys == nil {
		return noSuchEndpoint
	}
	return h
}

// listSurveys serves GET /api/v1/surveys.
func (a *API) listSurveys(w http.ResponseWriter, r *http.Request) {
	list, err := a.surveys.List(r.Context())
	a.reply(w, r, http.StatusOK, map[string]any{"surveys": list}, err)
}

// getSurvey serves GET /api/v1/surveys/{id}.
func (a *API) getSurvey(w http.ResponseWriter, r *http.Request) {
	s, err := a.surveys.Get(r.Context(), r.PathValue("id"))
	a.reply(w, r, http.StatusOK, s, err)
}

// saveSurveys serves POST /api/v1/surveys: one definition, or
// {"surveys": [...]}, in JSON.
func (a *API) saveSurveys(w http.ResponseWriter, r *http.Request) {
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
	var many struct {
		Surveys []json.RawMessage `json:"surveys"`
	}
	raws := []json.RawMessage{body}
	if json.Unmarshal(body, &many) == nil && many.Surveys != nil {
		raws = many.Surveys
	}
	var defs []*survey.Definition
	for _, raw := range raws {
		d, err := survey.ParseJSON(bytes.TrimSpace(raw))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		defs = append(defs, d)
	}
	if r.URL.Query().Get("dry_run") == "true" {
		for _, d := range defs {
			if err := d.Validate(); err != nil {
				a.fail(w, r, err)
				return
			}
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"valid": true, "surveys": defs})
		return
	}
	saved, err := a.surveys.Save(r.Context(), defs)
	a.reply(w, r, http.StatusOK, map[string]any{"surveys": saved}, err)
}

// surveySendInput is the body of POST /api/v1/surveys/{id}/send.
type surveySendInput struct {
	ProfileID      int64  `json:"profile_id"`
	Key            string `json:"key"`
	Channel        string `json:"channel,omitempty"`
	Template       string `json:"template,omitempty"`
	Topic          string `json:"topic,omitempty"`
	StoreID        string `json:"store_id,omitempty"`
	Agent          string `json:"agent,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	JourneyID      string `json:"journey_id,omitempty"`
}

// sendSurvey serves POST /api/v1/surveys/{id}/send: a survey after a
// contact (survey.Service.SendAfter), once per key.
func (a *API) sendSurvey(w http.ResponseWriter, r *http.Request) {
	var in surveySendInput
	if err := decodeBody(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.ProfileID <= 0 {
		a.fail(w, r, problem.Invalid("profile_id", "is required: the profile to survey"))
		return
	}
	inv, m, err := a.surveys.SendAfter(r.Context(), in.ProfileID, r.PathValue("id"), survey.SendOptions{Key: in.Key,
		Channel: in.Channel, Template: in.Template, Topic: in.Topic,
		Context: survey.Context{Store: in.StoreID, Agent: in.Agent, Conversation: in.ConversationID, Journey: in.JourneyID}})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"send": inv.Send, "url": inv.URL, "message": m})
}

// surveyAnswers serves GET /api/v1/surveys/{id}/answers?limit=: the
// answers, newest first.
func (a *API) surveyAnswers(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if _, err := a.surveys.Get(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	yes := true
	list, err := a.surveys.Sends(r.Context(), store.SurveySendQuery{SurveyID: r.PathValue("id"), Answered: &yes, Limit: limit})
	a.reply(w, r, http.StatusOK, map[string]any{"answers": list}, err)
}
