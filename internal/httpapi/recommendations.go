package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/recommend"
)

// EventSink appends events to the log (the server's committer).
type EventSink interface {
	Submit(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
}

// recommendations is what the recommendation endpoints need.
type recommendations struct {
	rec  *recommend.Recommender
	sink EventSink
}

// WithRecommendations gives the API the recommender (issue 22) and where
// saved definitions are appended; without it the endpoints answer 404.
func (a *API) WithRecommendations(r *recommend.Recommender, sink EventSink) *API {
	a.recs = &recommendations{rec: r, sink: sink}
	return a
}

// recommendationsOnly serves h when the API has the recommender.
func (a *API) recommendationsOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.recs == nil {
			noSuchEndpoint(w, r)
			return
		}
		h(w, r)
	}
}

// profileRecommendations serves GET /api/v1/profiles/{id}/recommendations
// ?strategy=NAME&store=ID&available=any|online|nearest|store&product=ID
// &channel=web|email|sms|push&limit=N: the products to propose to the
// customer, with price, media, availability and a tagged link.
func (a *API) profileRecommendations(w http.ResponseWriter, r *http.Request) {
	p, ok := a.pathProfile(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	q := recommend.Query{Name: v.Get("strategy"), Profile: p.ID, Product: v.Get("product"), Available: v.Get("available"),
		Channel: v.Get("channel")}
	store, err := scopedStore(r, v.Get("store"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q.Store = store
	switch q.Available {
	case "", recommend.AvailableAny, recommend.AvailableOnline, recommend.AvailableNearest, recommend.AvailableStore:
	default:
		a.fail(w, r, problem.Invalid("available", "must be any, online, nearest or store (with store=ID)"))
		return
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 50 {
			a.fail(w, r, problem.Invalid("limit", "must be a number from 1 to 50"))
			return
		}
		q.Limit = n
	}
	res, err := a.recs.rec.Recommend(r.Context(), q)
	a.reply(w, r, http.StatusOK, res, err)
}

// listRecommendations serves GET /api/v1/recommendations: every named
// recommendation (built-in and saved) and the model's size.
func (a *API) listRecommendations(w http.ResponseWriter, r *http.Request) {
	a.reply(w, r, http.StatusOK, map[string]any{
		"recommendations": a.recs.rec.Definitions(), "strategies": recommend.Strategies, "model": a.recs.rec.Model.Stats(),
	}, nil)
}

// saveRecommendations serves POST /api/v1/recommendations
// {"recommendations": [{name, strategy, filters, weights, ...}]}: kind:
// recommendation files, saved in the event log (every one is validated
// before any is saved).
func (a *API) saveRecommendations(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Recommendations []recommend.Definition `json:"recommendations"`
	}
	if err := decodeBody(r, &body); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(body.Recommendations) == 0 {
		a.fail(w, r, problem.Invalid("recommendations", "give at least one: [{name, strategy, filters, weights}]"))
		return
	}
	now := a.clock.Now()
	evs := make([]*event.Event, 0, len(body.Recommendations))
	for k := range body.Recommendations {
		d := &body.Recommendations[k]
		if err := d.Validate(); err != nil {
			if ve, ok := err.(*problem.ValidationError); ok {
				ve.Path = fmt.Sprintf("recommendations[%d].%s", k, ve.Path)
			}
			a.fail(w, r, err)
			return
		}
		evs = append(evs, recommend.SavedEvent(*d, now))
	}
	if err := a.recs.sink.Submit(r.Context(), evs, nil); err != nil {
		a.fail(w, r, err)
		return
	}
	for _, d := range body.Recommendations {
		a.recs.rec.Model.Save(d)
	}
	a.reply(w, r, http.StatusOK, map[string]any{"recommendations": body.Recommendations}, nil)
}

// followRecommendation serves GET /r/{profile}/{product}/{name}/{sig}: a
// recommended product's short link. The click is appended to the log
// (Recommendation Clicked, on the customer's timeline) before the
// redirect; a link this server did not sign answers 404.
func (a *API) followRecommendation(w http.ResponseWriter, r *http.Request) {
	to, e, err := a.recs.rec.Follow(r.PathValue("profile"), r.PathValue("product"), r.PathValue("name"), r.PathValue("sig"), a.clock.Now())
	if err != nil {
		http.Error(w, "This link is not valid (or no longer leads anywhere).", http.StatusNotFound)
		return
	}
	if err := a.recs.sink.Submit(r.Context(), []*event.Event{e}, nil); err != nil {
		// The customer still reaches the product: a lost click is a
		// smaller harm than a dead link.
		a.log.Error("recommend: record a click", "err", err)
	}
	http.Redirect(w, r, to, http.StatusFound)
}
