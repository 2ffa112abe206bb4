package console

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/commerce"
)

// orderRow is an order with the statuses it may move to next.
type orderRow struct {
	*commerce.Order
	Next []commerce.Status
}

// orders serves GET /console/orders: the orders, newest first, by
// status, each with the buttons of its next statuses (ready for pickup
// for a click & collect being picked).
func (c *Console) orders(w http.ResponseWriter, r *http.Request, s *session) {
	in := r.URL.Query()
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	for _, k := range []string{"status", "customer", "cursor"} {
		if v := in.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	var page struct {
		Orders     []*commerce.Order `json:"orders"`
		NextCursor string            `json:"next_cursor"`
	}
	if err := c.get(r, s, "/api/v1/orders", q, &page); err != nil {
		c.fail(w, r, s, err)
		return
	}
	rows := make([]orderRow, len(page.Orders))
	for i, o := range page.Orders {
		rows[i] = orderRow{o, commerce.Next(o.Fulfilment, o.Status)}
	}
	c.render(w, r, s, "orders", http.StatusOK, map[string]any{"Orders": rows, "Status": in.Get("status"),
		"Next": nextQuery(page.NextCursor, "status", in.Get("status")), "Flash": in.Get("moved")})
}

// orderTransition serves POST /console/orders/{id}/transition: the order
// moved to the status chosen.
func (c *Console) orderTransition(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	to := r.FormValue("to")
	if err := c.send(r, s, http.MethodPost, "/api/v1/orders/"+url.PathEscape(id)+"/transitions", map[string]string{"to": to}, nil); err != nil {
		c.fail(w, r, s, err)
		return
	}
	http.Redirect(w, r, "/console/orders?"+url.Values{"moved": {id + " → " + to}}.Encode(), http.StatusSeeOther)
}

// conversations serves GET /console/conversations: the agent's inbox, by
// status, paged.
func (c *Console) conversations(w http.ResponseWriter, r *http.Request, s *session) {
	in := r.URL.Query()
	status := in.Get("status")
	if status == "" {
		status = "active"
	}
	q := url.Values{"status": {status}, "limit": {strconv.Itoa(pageSize)}}
	if v := in.Get("cursor"); v != "" {
		q.Set("cursor", v)
	}
	var page struct {
		Conversations []map[string]any `json:"conversations"`
		NextCursor    string           `json:"next_cursor"`
	}
	if err := c.get(r, s, "/api/v1/conversations", q, &page); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, "conversations", http.StatusOK, map[string]any{"Conversations": page.Conversations, "Status": status,
		"Next": nextQuery(page.NextCursor, "status", status)})
}

// settings serves GET /console/settings: the sources and their write
// keys, the API keys and the audit log, each as the role may read them.
func (c *Console) settings(w http.ResponseWriter, r *http.Request, s *session) {
	data := map[string]any{}
	var sources struct {
		Sources []struct {
			ID        string    `json:"id"`
			Name      string    `json:"name"`
			Channel   string    `json:"channel"`
			WriteKey  string    `json:"write_key"`
			Disabled  bool      `json:"disabled"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"sources"`
	}
	if err := c.get(r, s, "/api/v1/sources", nil, &sources); err != nil {
		c.fail(w, r, s, err)
		return
	}
	data["Sources"], _ = paged(r, sources.Sources)
	if s.Can("keys:read") {
		var keys struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := c.get(r, s, "/api/v1/keys", nil, &keys); err == nil {
			data["Keys"] = keys.Keys
		}
	}
	if s.Can("audit:read") {
		var audit struct {
			Entries []struct {
				At         time.Time `json:"at"`
				Actor      string    `json:"actor"`
				Action     string    `json:"action"`
				Resource   string    `json:"resource"`
				ResourceID string    `json:"resource_id"`
				Status     int       `json:"status"`
				IP         string    `json:"ip"`
			} `json:"entries"`
			NextBefore int64 `json:"next_before"`
		}
		q := url.Values{"limit": {strconv.Itoa(pageSize)}}
		if b := r.URL.Query().Get("before"); b != "" {
			q.Set("before", b)
		}
		if err := c.get(r, s, "/api/v1/audit", q, &audit); err == nil {
			data["Audit"] = audit.Entries
			if audit.NextBefore > 0 && len(audit.Entries) == pageSize {
				data["Next"] = "before=" + strconv.FormatInt(audit.NextBefore, 10)
			}
		}
	}
	c.render(w, r, s, "settings", http.StatusOK, data)
}
