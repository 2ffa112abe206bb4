package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/channel"
	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/place"
	"github.com/parcours/parcours/internal/privacy"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// Unifier is the unify stage, as the profile endpoints use it: Unmerge
// undoes a merge and rebuilds what derives from the split profiles
// (pipeline.Pipeline.Unmerge).
type Unifier interface {
	Unmerge(ctx context.Context, id, mergeID int64) ([]int64, error)
	RFM() *profile.RFM
}

// Profiles gives the profile endpoints what they need besides the store.
type Profiles struct {
	Unify  Unifier
	Rules  *identity.Rules // to normalise looked-up identifiers; nil: defaults
	Stores []place.Location
	// Privacy answers access and erasure requests, Retention runs a
	// retention pass; nil: those endpoints answer 503.
	Privacy   *privacy.Service
	Retention *privacy.Retention
}

// profileView is a profile as the API shows it.
type profileView struct {
	ID          int64                    `json:"id"`
	Identifiers []identity.Identifier    `json:"identifiers"`
	Traits      map[string]profile.Trait `json:"traits"`
	Computed    map[string]any           `json:"computed"`
	Consent     map[string]any           `json:"consent"`
	Merges      int                      `json:"merges"`
}

func (a *API) view(ctx context.Context, p *profile.Profile) profileView {
	env := &profile.Env{Now: a.clock.Now(), Stores: a.profiles.Stores, RFM: a.profiles.Unify.RFM()}
	return profileView{
		ID: p.ID, Identifiers: p.Identifiers, Traits: p.Traits, Merges: p.Merges,
		Computed: profile.Computed(p, env), Consent: a.consentView(ctx, p),
	}
}

// consentView reports the profile's current consent from the consent
// ledger (GET /api/v1/profiles/{id}/consent has the ledger itself): each
// channel granted, withdrawn or unknown (null), and each topic's choice
// as "channel:topic". Without the message pipeline it is empty.
func (a *API) consentView(ctx context.Context, p *profile.Profile) map[string]any {
	out := map[string]any{}
	if a.messages == nil {
		return out
	}
	for _, ch := range channel.Names(channel.Descriptor.Personal) {
		out[string(ch)] = nil
	}
	current, err := a.messages.CurrentConsent(ctx, p)
	if err != nil {
		a.log.Error("api: consent of a profile", "profile", p.ID, "err", err)
		return out
	}
	for _, r := range current {
		k := r.Channel
		if r.Topic != "" {
			k += ":" + r.Topic
		}
		out[k] = r.Granted
	}
	return out
}

// lookupKinds are the query parameters that find a profile by identifier.
var lookupKinds = []identity.Kind{identity.UserID, identity.AnonymousID, identity.Email, identity.Phone,
	identity.LoyaltyID, identity.DeviceToken, identity.StoreCustomerID}

// findProfiles serves GET /api/v1/profiles: by identifier
// (?email=..., ?phone=..., any kind, or ?identifier=kind:value), or all
// profiles by id, paged.
func (a *API) findProfiles(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var raw *identity.Raw
	for _, k := range lookupKinds {
		if v := q.Get(string(k)); v != "" {
			raw = &identity.Raw{Kind: k, Value: v}
		}
	}
	if s := q.Get("identifier"); s != "" {
		id, ok := identity.ParseIdentifier(s)
		if !ok {
			a.fail(w, r, problem.Invalid("identifier", "must be kind:value, e.g. email:sophie@example.fr or external:crm:42"))
			return
		}
		raw = &identity.Raw{Kind: id.Kind, Value: id.Value}
	}
	if raw == nil {
		a.listProfiles(w, r)
		return
	}
	rules := a.profiles.Rules
	if rules == nil {
		rules = identity.DefaultRules()
	}
	id, why := rules.Normalize(*raw)
	if why != "" {
		a.fail(w, r, problem.Invalid(string(raw.Kind), why))
		return
	}
	holders, err := a.store.Holders(r.Context(), []identity.Identifier{id})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if holders[id] == 0 {
		a.fail(w, r, &problem.Error{Kind: problem.KindNotFound, Code: "not_found", Message: "no profile holds " + id.String(),
			Details: map[string]string{"kind": "profile", "identifier": id.String()}})
		return
	}
	p, err := a.store.Profile(r.Context(), holders[id])
	if err == nil {
		err = checkCustomer(r, p)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, a.view(r.Context(), p))
}

func (a *API) listProfiles(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	limit, err := limitParam(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := decodeCursor(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	list, err := a.store.ListProfiles(r.Context(), c.After, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := struct {
		Profiles   []profileView `json:"profiles"`
		NextCursor string        `json:"next_cursor,omitempty"`
	}{Profiles: []profileView{}}
	for _, p := range list {
		if checkCustomer(r, p) != nil {
			continue // a store role pages through its stores' customers only
		}
		page.Profiles = append(page.Profiles, a.view(r.Context(), p))
	}
	if len(list) == limit {
		page.NextCursor = cursor{After: list[len(list)-1].ID}.encode()
	}
	httpjson.Write(w, http.StatusOK, page)
}

func profileID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, problem.Invalid("id", "must be a profile id (a positive integer)")
	}
	return id, nil
}

// pathProfile loads the profile the path names, following merges, or
// writes the error.
func (a *API) pathProfile(w http.ResponseWriter, r *http.Request) (*profile.Profile, bool) {
	id, err := profileID(r)
	if err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	p, err := a.store.Profile(r.Context(), id)
	if err == nil {
		err = checkCustomer(r, p)
	}
	if err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	return p, true
}

// getProfile serves GET /api/v1/profiles/{id}. A merged profile's id leads
// to the profile it was merged into.
func (a *API) getProfile(w http.ResponseWriter, r *http.Request) {
	p, ok := a.pathProfile(w, r)
	if !ok {
		return
	}
	httpjson.Write(w, http.StatusOK, a.view(r.Context(), p))
}

// getTimeline serves GET /api/v1/profiles/{id}/timeline: the customer's
// events on every channel, newest first. Filters: type, event, channel,
// source, since, until.
func (a *API) getTimeline(w http.ResponseWriter, r *http.Request) {
	p, ok := a.pathProfile(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	q := store.TimelineQuery{Profile: p.ID, Event: v.Get("event"), Channel: v.Get("channel"), SourceID: v.Get("source")}
	var err error
	if t := v.Get("type"); t != "" {
		typ, ok := event.ParseType(t)
		if !ok {
			a.fail(w, r, problem.Invalid("type", "must be one of identify, track, page, screen, group, alias"))
			return
		}
		q.Type = typ
	}
	if q.Since, err = timeParam(v, "since"); err != nil {
		a.fail(w, r, err)
		return
	}
	if q.Until, err = timeParam(v, "until"); err != nil {
		a.fail(w, r, err)
		return
	}
	if q.Limit, err = limitParam(v); err != nil {
		a.fail(w, r, err)
		return
	}
	var tc timelineCursor
	if err := readCursor(v, &tc); err != nil {
		a.fail(w, r, err)
		return
	}
	if tc.valid() {
		q.BeforeAt, q.BeforeSeq = time.UnixMicro(tc.At).UTC(), tc.Seq
	}
	events, err := a.store.Timeline(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := struct {
		ProfileID  int64          `json:"profile_id"`
		Events     []*event.Event `json:"events"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}{ProfileID: p.ID, Events: events}
	if page.Events == nil {
		page.Events = []*event.Event{}
	}
	if len(events) == q.Limit {
		last := events[len(events)-1]
		page.NextCursor = encodeCursor(timelineCursor{At: last.Timestamp.UnixMicro(), Seq: last.Seq})
	}
	httpjson.Write(w, http.StatusOK, page)
}

// getMerges serves GET /api/v1/profiles/{id}/merges: the merge log and the
// identifiers the profile was refused.
func (a *API) getMerges(w http.ResponseWriter, r *http.Request) {
	p, ok := a.pathProfile(w, r)
	if !ok {
		return
	}
	merges, err := a.store.MergeLog(r.Context(), p.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	refusals, err := a.store.Refusals(r.Context(), p.ID, 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if merges == nil {
		merges = []store.MergeRecord{}
	}
	if refusals == nil {
		refusals = []store.RefusalRecord{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"profile_id": p.ID, "merges": merges, "refusals": refusals})
}

// unmerge serves POST /api/v1/profiles/{id}/unmerge {"merge_id": N}.
func (a *API) unmerge(w http.ResponseWriter, r *http.Request) {
	id, err := profileID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var req struct {
		MergeID int64 `json:"merge_id"`
	}
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.MergeID <= 0 {
		a.fail(w, r, problem.Invalid("merge_id", "is required: the id of the merge to undo, from GET /api/v1/profiles/{id}/merges"))
		return
	}
	profiles, err := a.profiles.Unify.Unmerge(r.Context(), id, req.MergeID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"profiles": profiles})
}
