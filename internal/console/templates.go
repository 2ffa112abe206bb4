package console

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// templateView is a message template as the API answers it.
type templateView struct {
	ID        string                    `json:"id"`
	Name      string                    `json:"name"`
	Topic     string                    `json:"topic"`
	Body      map[string]map[string]any `json:"body"`
	Version   int                       `json:"version"`
	UpdatedAt time.Time                 `json:"updated_at"`
}

// Channels are the template's channels, sorted.
func (t *templateView) Channels() []string { return sortedKeys(t.Body) }

// field is one editable text of a template: a channel's subject, html,
// text, body or title.
type field struct {
	Name  string // "sms.body": the API's problem field names it so
	Value string
	Long  bool
}

// Fields are the template's texts, in the editor's order.
func (t *templateView) Fields() []field {
	var out []field
	for _, ch := range t.Channels() {
		keys := sortedKeys(t.Body[ch])
		sort.SliceStable(keys, func(a, b int) bool { return fieldRank(keys[a]) < fieldRank(keys[b]) })
		for _, k := range keys {
			if s, ok := t.Body[ch][k].(string); ok {
				out = append(out, field{Name: ch + "." + k, Value: s, Long: k == "html" || k == "text" || k == "body"})
			}
		}
	}
	return out
}

func fieldRank(k string) int {
	switch k {
	case "subject", "title":
		return 0
	case "body":
		return 1
	case "html":
		return 2
	}
	return 3
}

// problem is one error of a template at save time, where it is.
type problem struct {
	Field   string `json:"field"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// templates serves GET /console/templates.
func (c *Console) templates(w http.ResponseWriter, r *http.Request, s *session) {
	var list struct {
		Templates []templateView `json:"templates"`
	}
	if err := c.get(r, s, "/api/v1/templates", nil, &list); err != nil {
		c.fail(w, r, s, err)
		return
	}
	items, next := paged(r, list.Templates)
	c.render(w, r, s, "templates", http.StatusOK, map[string]any{"Templates": items, "Next": next})
}

// template serves GET /console/templates/{id}: the editor, one text box
// per channel field, and the preview as a chosen customer.
func (c *Console) template(w http.ResponseWriter, r *http.Request, s *session) {
	var t templateView
	if err := c.get(r, s, "/api/v1/templates/"+url.PathEscape(r.PathValue("id")), nil, &t); err != nil {
		c.fail(w, r, s, err)
		return
	}
	c.render(w, r, s, "template", http.StatusOK, map[string]any{"T": &t, "Saved": r.URL.Query().Get("saved") != ""})
}

// templateSave serves POST /console/templates/{id}: the edited fields
// put back in the template's body and saved; a template that does not
// compile comes back with each error at its field, line and column.
func (c *Console) templateSave(w http.ResponseWriter, r *http.Request, s *session) {
	id := url.PathEscape(r.PathValue("id"))
	var t templateView
	if err := c.get(r, s, "/api/v1/templates/"+id, nil, &t); err != nil {
		c.fail(w, r, s, err)
		return
	}
	for ch, fields := range t.Body {
		for k, v := range fields {
			if _, ok := v.(string); ok {
				if nv, ok := r.PostForm[ch+"."+k]; ok {
					fields[k] = nv[0]
				}
			}
		}
	}
	err := c.send(r, s, http.MethodPut, "/api/v1/templates/"+id, map[string]any{"id": t.ID, "name": t.Name, "topic": t.Topic, "body": t.Body}, nil)
	if err == nil {
		http.Redirect(w, r, "/console/templates/"+id+"?saved=1", http.StatusSeeOther)
		return
	}
	data := map[string]any{"T": &t, "Error": errText(err)}
	if ae, ok := err.(*APIError); ok {
		byField := map[string][]problem{}
		if list, ok := ae.Details["problems"].([]any); ok {
			for _, x := range list {
				m, _ := x.(map[string]any)
				p := problem{Field: jsonString(m["field"]), Message: jsonString(m["message"])}
				p.Line, _ = strconv.Atoi(jsonString(m["line"]))
				p.Column, _ = strconv.Atoi(jsonString(m["column"]))
				byField[p.Field] = append(byField[p.Field], p)
			}
		}
		data["Problems"] = byField
	}
	c.render(w, r, s, "template", http.StatusUnprocessableEntity, data)
}

// templatePreview serves POST /console/templates/{id}/preview: the saved
// template rendered for a customer (by profile id or any identifier),
// with each channel's message, the SMS's encoding and segments, and the
// email in a sandboxed frame.
func (c *Console) templatePreview(w http.ResponseWriter, r *http.Request, s *session) {
	who := r.FormValue("customer")
	body := map[string]any{}
	if n, err := strconv.ParseInt(who, 10, 64); err == nil {
		body["profile_id"] = n
	} else {
		body["identifier"] = who
	}
	var p struct {
		Channels map[string]map[string]any `json:"channels"`
	}
	err := c.send(r, s, http.MethodPost, "/api/v1/templates/"+url.PathEscape(r.PathValue("id"))+"/preview", body, &p)
	c.partial(w, r, s, "template", "preview", http.StatusOK, map[string]any{"Channels": p.Channels, "Error": errText(err)})
}
