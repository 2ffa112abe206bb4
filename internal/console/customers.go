package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/commerce"
)

// profileView is a profile as GET /api/v1/profiles/{id} answers it.
type profileView struct {
	ID          int64 `json:"id"`
	Identifiers []struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"identifiers"`
	Traits   map[string]traitView `json:"traits"`
	Computed map[string]any       `json:"computed"`
	Consent  map[string]*bool     `json:"consent"`
}

// traitView is one trait with its provenance: when, from which source,
// by which message.
type traitView struct {
	Value     any       `json:"value"`
	At        time.Time `json:"at"`
	Source    string    `json:"source"`
	MessageID string    `json:"message_id"`
}

// Name is how the console calls a customer: first and last name, else
// their email, else their id.
func (p *profileView) Name() string {
	var parts []string
	for _, k := range []string{"first_name", "firstName", "last_name", "lastName"} {
		if t, ok := p.Traits[k]; ok {
			if s, ok := t.Value.(string); ok && s != "" {
				parts = append(parts, s)
			}
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	for _, id := range p.Identifiers {
		if id.Kind == "email" {
			return id.Value
		}
	}
	return "#" + jsonString(p.ID)
}

// orderKey is the identifier orders name the customer by (commerce's
// Customer.Key): the user id, else the email.
func (p *profileView) orderKey() string {
	for _, kind := range []string{"user_id", "email"} {
		for _, id := range p.Identifiers {
			if id.Kind == kind && kind == "email" {
				return kind + ":" + strings.ToLower(id.Value)
			} else if id.Kind == kind {
				return kind + ":" + id.Value
			}
		}
	}
	return ""
}

// SortedTraits are the traits by name.
func (p *profileView) SortedTraits() []string { return sortedKeys(p.Traits) }

// SortedComputed are the computed traits by name.
func (p *profileView) SortedComputed() []string { return sortedKeys(p.Computed) }

// SortedConsent are the consent keys by name.
func (p *profileView) SortedConsent() []string { return sortedKeys(p.Consent) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func jsonString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// eventView is one event of a timeline.
type eventView struct {
	Seq        int64          `json:"seq"`
	Type       string         `json:"type"`
	Event      string         `json:"event"`
	Name       string         `json:"name"`
	UserID     string         `json:"userId"`
	AnonID     string         `json:"anonymousId"`
	Properties map[string]any `json:"properties"`
	Timestamp  time.Time      `json:"timestamp"`
	Channel    string         `json:"channel"`
	SourceID   string         `json:"sourceId"`
}

// Title is what the timeline shows for the event.
func (e eventView) Title() string {
	switch {
	case e.Event != "":
		return e.Event
	case e.Type == "page" && e.Name != "":
		return "Page: " + e.Name
	}
	return e.Type
}

// Detail is a short line of the event's properties that matter.
func (e eventView) Detail() string {
	var parts []string
	for _, k := range []string{"name", "sku", "product_id", "order_id", "total", "store_id", "url", "path", "campaign_name", "email_subject"} {
		if v, ok := e.Properties[k]; ok && v != nil && v != "" {
			parts = append(parts, k+": "+jsonString(v))
		}
		if len(parts) == 3 {
			break
		}
	}
	return strings.Join(parts, " · ")
}

// Anonymous reports whether the event came before the customer was known
// (no user id): the browsing that identity joined to them.
func (e eventView) Anonymous() bool { return e.UserID == "" && e.AnonID != "" }

var phoneLike = regexp.MustCompile(`^\+?[0-9 .-]{6,}$`)

// lookupQuery turns what someone typed into the API's lookup: an email, a
// phone number, kind:value, or a user id.
func lookupQuery(q string) url.Values {
	q = strings.TrimSpace(q)
	switch {
	case q == "":
		return nil
	case strings.Contains(q, "@"):
		return url.Values{"email": {q}}
	case phoneLike.MatchString(q):
		return url.Values{"phone": {q}}
	case strings.Contains(q, ":"):
		return url.Values{"identifier": {q}}
	}
	return url.Values{"user_id": {q}}
}

// customers serves GET /console/customers: search by any identifier, or
// the profiles paged by id.
func (c *Console) customers(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query().Get("q")
	data := map[string]any{"Q": q}
	if lq := lookupQuery(q); lq != nil {
		var p profileView
		err := c.get(r, s, "/api/v1/profiles", lq, &p)
		if err == nil {
			http.Redirect(w, r, "/console/customers/"+jsonString(p.ID), http.StatusSeeOther)
			return
		}
		data["Error"] = apiMessage(err)
	}
	var page struct {
		Profiles   []profileView `json:"profiles"`
		NextCursor string        `json:"next_cursor"`
	}
	if err := c.get(r, s, "/api/v1/profiles", url.Values{"limit": {"25"}, "cursor": {r.URL.Query().Get("cursor")}}, &page); err != nil {
		c.fail(w, r, s, err)
		return
	}
	data["Profiles"], data["Next"] = page.Profiles, nextQuery(page.NextCursor)
	c.render(w, r, s, "customers", http.StatusOK, data)
}

func nextQuery(cursor string, kv ...string) string {
	if cursor == "" {
		return ""
	}
	q := url.Values{"cursor": {cursor}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q.Encode()
}

func apiMessage(err error) string {
	if ae, ok := err.(*APIError); ok {
		return ae.Message
	}
	return err.Error()
}

// customer serves GET /console/customers/{id}: the profile with its
// traits and their provenance, computed traits, consent, orders,
// messages, and the timeline (filtered and paged by htmx).
func (c *Console) customer(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	var p profileView
	if err := c.get(r, s, "/api/v1/profiles/"+url.PathEscape(id), nil, &p); err != nil {
		c.fail(w, r, s, err)
		return
	}
	data := map[string]any{"P": &p}
	tl, err := c.timelineData(r, s, id)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	data["Timeline"] = tl
	if s.Can("orders:read") {
		if key := p.orderKey(); key != "" {
			var orders struct {
				Orders []*commerce.Order `json:"orders"`
			}
			if err := c.get(r, s, "/api/v1/orders", url.Values{"customer": {key}, "limit": {"10"}}, &orders); err == nil {
				data["Orders"] = orders.Orders
			}
		}
	}
	var merges struct {
		Merges []mergeView `json:"merges"`
	}
	if err := c.get(r, s, "/api/v1/profiles/"+url.PathEscape(id)+"/merges", nil, &merges); err == nil {
		data["Merges"] = merges.Merges
	}
	data["Flash"] = r.URL.Query().Get("unmerged")
	if s.Can("messages:read") {
		var msgs struct {
			Messages []map[string]any `json:"messages"`
		}
		if err := c.get(r, s, "/api/v1/profiles/"+url.PathEscape(id)+"/messages", url.Values{"limit": {"10"}}, &msgs); err == nil {
			data["Messages"] = msgs.Messages
		}
	}
	c.render(w, r, s, "customer", http.StatusOK, data)
}

// timelineData reads one page of a profile's timeline with the request's
// filters (channel, type, event) and cursor.
func (c *Console) timelineData(r *http.Request, s *session, id string) (map[string]any, error) {
	in := r.URL.Query()
	q := url.Values{"limit": {"30"}}
	for _, k := range []string{"channel", "type", "event", "cursor"} {
		if v := in.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	var page struct {
		Events     []eventView `json:"events"`
		NextCursor string      `json:"next_cursor"`
	}
	if err := c.get(r, s, "/api/v1/profiles/"+url.PathEscape(id)+"/timeline", q, &page); err != nil {
		return nil, err
	}
	return map[string]any{"ID": id, "Events": page.Events, "Channel": in.Get("channel"), "Type": in.Get("type"),
		"Next": nextQuery(page.NextCursor, "channel", in.Get("channel"), "type", in.Get("type"))}, nil
}

// timeline serves GET /console/customers/{id}/timeline: the timeline
// alone, for htmx to swap in (filters, next page).
func (c *Console) timeline(w http.ResponseWriter, r *http.Request, s *session) {
	tl, err := c.timelineData(r, s, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/console/customers/"+url.PathEscape(r.PathValue("id"))+"?"+r.URL.RawQuery, http.StatusSeeOther)
		return
	}
	c.partial(w, r, s, "customer", "timeline", http.StatusOK, tl)
}

// mergeView is one merge of the profile's merge log.
type mergeView struct {
	ID          int64     `json:"id"`
	At          time.Time `json:"at"`
	Merged      int64     `json:"merged_profile_id"`
	Identifiers []struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"identifiers"`
	UndoneAt time.Time `json:"undone_at"`
}

// unmerge serves POST /console/customers/{id}/unmerge: the merge chosen
// (and confirmed on the page) undone by the API, which rebuilds what
// followed from it.
func (c *Console) unmerge(w http.ResponseWriter, r *http.Request, s *session) {
	id := url.PathEscape(r.PathValue("id"))
	mid, err := strconv.ParseInt(r.FormValue("merge_id"), 10, 64)
	if err != nil {
		c.fail(w, r, s, &APIError{Status: http.StatusBadRequest, Code: "invalid", Message: "merge_id: choose a merge of the profile's merge log"})
		return
	}
	if err := c.send(r, s, http.MethodPost, "/api/v1/profiles/"+id+"/unmerge", map[string]int64{"merge_id": mid}, nil); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/customers/"+id+"?unmerged="+strconv.FormatInt(mid, 10), http.StatusSeeOther)
}
