package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/parcours/parcours/internal/clienteling"
	"github.com/parcours/parcours/internal/store"
)

// storePage serves GET /console/store/{store}: the tablet page of a store
// associate. Their open tasks first (oldest first: the customer waiting
// longest), each with a button that marks it done in place, then the
// customer lookup that opens the clienteling card.
func (c *Console) storePage(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("store")
	var page struct {
		Tasks      []*store.Task `json:"tasks"`
		NextCursor string        `json:"next_cursor"`
	}
	q := url.Values{"store_id": {id}, "status": {"open"}, "limit": {"20"}}
	if cur := r.URL.Query().Get("cursor"); cur != "" {
		q.Set("cursor", cur)
	}
	if err := c.get(r, s, "/api/v1/tasks", q, &page); err != nil {
		c.fail(w, r, s, err)
		return
	}
	data := map[string]any{"Store": id, "Tasks": page.Tasks, "Next": nextQuery(page.NextCursor)}
	if lq := r.URL.Query().Get("q"); lq != "" {
		data["Q"] = lq
		card, err := c.lookup(r, s, id, lq)
		data["Card"], data["LookupError"] = card, errText(err)
	}
	c.render(w, r, s, "store", http.StatusOK, data)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return apiMessage(err)
}

// lookup finds the customer in front of the associate by what they typed:
// a phone, an email, or a card or scanned code.
func (c *Console) lookup(r *http.Request, s *session, storeID, typed string) (*clienteling.View, error) {
	typed = strings.TrimSpace(typed)
	q := url.Values{"store": {storeID}}
	switch {
	case strings.Contains(typed, "@"):
		q.Set("email", typed)
	case phoneLike.MatchString(typed) && (strings.HasPrefix(typed, "+") || strings.HasPrefix(typed, "0")):
		q.Set("phone", typed)
	default:
		q.Set("code", typed)
	}
	var v clienteling.View
	if err := c.get(r, s, "/api/v1/clienteling/customers", q, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// storeLookup serves GET /console/store/{store}/lookup?q=: the customer
// card alone, for htmx.
func (c *Console) storeLookup(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("store")
	q := r.URL.Query().Get("q")
	if r.Header.Get("HX-Request") == "" {
		http.Redirect(w, r, "/console/store/"+url.PathEscape(id)+"?"+url.Values{"q": {q}}.Encode(), http.StatusSeeOther)
		return
	}
	card, err := c.lookup(r, s, id, q)
	c.partial(w, r, s, "store", "card", http.StatusOK, map[string]any{"Store": id, "Q": q, "Card": card, "LookupError": errText(err)})
}

// taskDone serves POST /console/tasks/{id}/done: the task marked done,
// answered as its row (htmx) or by going back to the store page.
func (c *Console) taskDone(w http.ResponseWriter, r *http.Request, s *session) {
	var t store.Task
	if err := c.send(r, s, http.MethodPost, "/api/v1/tasks/"+url.PathEscape(r.PathValue("id"))+"/done", nil, &t); err != nil {
		c.fail(w, r, s, err)
		return
	}
	if r.Header.Get("HX-Request") != "" {
		c.partial(w, r, s, "store", "task", http.StatusOK, &t)
		return
	}
	http.Redirect(w, r, "/console/store/"+url.PathEscape(t.StoreID), http.StatusSeeOther)
}

// stores serves GET /console/stores: for the roles that see every store,
// the stores with a link to each one's tablet page.
func (c *Console) stores(w http.ResponseWriter, r *http.Request, s *session) {
	var locs struct {
		Locations []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Kind    string `json:"kind"`
			Address struct {
				City string `json:"city"`
			} `json:"address"`
		} `json:"locations"`
	}
	if s.Can("catalog:read") {
		if err := c.get(r, s, "/api/v1/locations", url.Values{"limit": {"100"}}, &locs); err != nil {
			c.fail(w, r, s, err)
			return
		}
	}
	c.render(w, r, s, "stores", http.StatusOK, locs.Locations)
}
