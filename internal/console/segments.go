package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/segment"
)

// segmentView is a segment as GET /api/v1/segments lists it.
type segmentView struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Where     json.RawMessage `json:"where"`
	Version   int             `json:"version"`
	Status    string          `json:"status"`
	Size      int64           `json:"size"`
	UpdatedAt time.Time       `json:"updated_at"`
}

const pageSize = 25

// paged cuts a list the API answers whole (segments, journeys,
// templates: definitions, a few hundred at most) into pages of pageSize,
// by the offset in ?page=.
func paged[T any](r *http.Request, all []T) (items []T, next string) {
	n, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if n < 0 {
		n = 0
	}
	from := min(n*pageSize, len(all))
	to := min(from+pageSize, len(all))
	if to < len(all) {
		next = url.Values{"page": {strconv.Itoa(n + 1)}}.Encode()
	}
	return all[from:to], next
}

// segments serves GET /console/segments: the segments with their sizes.
func (c *Console) segments(w http.ResponseWriter, r *http.Request, s *session) {
	var list struct {
		Segments []segmentView `json:"segments"`
	}
	if err := c.get(r, s, "/api/v1/segments", nil, &list); err != nil {
		c.fail(w, r, s, err)
		return
	}
	items, next := paged(r, list.Segments)
	c.render(w, r, s, "segments", http.StatusOK, map[string]any{"Segments": items, "Next": next})
}

const newSegment = `id: my-segment
name: Customers who viewed shoes this week
where:
  performed:
    event: Product Viewed
    where: {category: shoes}
    within: 7d
`

// segmentEditor serves GET /console/segments/new (?from=ID: a copy of a
// segment's definition to change).
func (c *Console) segmentEditor(w http.ResponseWriter, r *http.Request, s *session) {
	src := newSegment
	if from := r.URL.Query().Get("from"); from != "" {
		var seg segmentView
		if err := c.get(r, s, "/api/v1/segments/"+url.PathEscape(from), nil, &seg); err != nil {
			c.fail(w, r, s, err)
			return
		}
		src = definitionYAML(seg)
	}
	c.render(w, r, s, "segment_edit", http.StatusOK, map[string]any{"Source": src})
}

// definitionYAML writes a stored segment back as the editor's YAML: id
// and name, and the condition as JSON (JSON is YAML too).
func definitionYAML(seg segmentView) string {
	var where any
	_ = json.Unmarshal(seg.Where, &where)
	b, _ := json.MarshalIndent(where, "  ", "  ")
	return "id: " + seg.ID + "\nname: " + strconv.Quote(seg.Name) + "\nwhere:\n  " + string(b) + "\n"
}

// parseSegment reads the editor's YAML into the API's JSON body.
func parseSegment(src string) (map[string]any, error) {
	defs, err := segment.ParseYAML("definition", strings.NewReader(src))
	if err != nil {
		return nil, err
	}
	if len(defs) != 1 {
		return nil, errors.New("write exactly one segment (id, name, where)")
	}
	return map[string]any{"segments": defs}, nil
}

// segmentPreview serves POST /console/segments/preview: the size and a
// sample of the edited definition, or where it is wrong (htmx, as the
// marketer types).
func (c *Console) segmentPreview(w http.ResponseWriter, r *http.Request, s *session) {
	data := map[string]any{}
	body, err := parseSegment(r.FormValue("source"))
	if err == nil {
		var p map[string]any
		if err = c.send(r, s, http.MethodPost, "/api/v1/segments/preview", body, &p); err == nil {
			data["Preview"] = p
		}
	}
	data["Error"] = errText(err)
	c.partial(w, r, s, "segment_edit", "preview", http.StatusOK, data)
}

// segmentApply serves POST /console/segments: the definition saved (and
// backfilled by the API), then its page.
func (c *Console) segmentApply(w http.ResponseWriter, r *http.Request, s *session) {
	src := r.FormValue("source")
	body, err := parseSegment(src)
	if err == nil {
		err = c.send(r, s, http.MethodPost, "/api/v1/segments?wait=true", body, nil)
	}
	if err != nil {
		c.render(w, r, s, "segment_edit", http.StatusUnprocessableEntity, map[string]any{"Source": src, "Error": errText(err)})
		return
	}
	id := body["segments"].([]*segment.Definition)[0].ID
	http.Redirect(w, r, "/console/segments/"+url.PathEscape(id)+"?saved=1", http.StatusSeeOther)
}

// segment serves GET /console/segments/{id}: the definition, the size
// over time, the latest entries and exits.
func (c *Console) segment(w http.ResponseWriter, r *http.Request, s *session) {
	id := url.PathEscape(r.PathValue("id"))
	var seg segmentView
	if err := c.get(r, s, "/api/v1/segments/"+id, nil, &seg); err != nil {
		c.fail(w, r, s, err)
		return
	}
	data := map[string]any{"Seg": seg, "Source": definitionYAML(seg), "Saved": r.URL.Query().Get("saved") != ""}
	var counts struct {
		Counts []struct {
			At   time.Time `json:"day"`
			Size float64   `json:"size"`
		} `json:"counts"`
	}
	if err := c.get(r, s, "/api/v1/segments/"+id+"/counts", nil, &counts); err == nil && len(counts.Counts) > 0 {
		l := c.localeOf(r)
		ch := chart{Series: []chartSeries{{Name: l.T("seg.size")}}}
		for _, p := range counts.Counts {
			v := p.Size
			ch.Labels = append(ch.Labels, l.Date(p.At))
			ch.Series[0].Values = append(ch.Series[0].Values, &v)
		}
		data["Chart"] = ch
	}
	if s.Can("segments:members") {
		var members struct {
			Members []struct {
				ProfileID int64     `json:"profile_id"`
				Since     time.Time `json:"since"`
			} `json:"members"`
			NextCursor string `json:"next_cursor"`
		}
		q := url.Values{"limit": {strconv.Itoa(pageSize)}}
		if cur := r.URL.Query().Get("cursor"); cur != "" {
			q.Set("cursor", cur)
		}
		if err := c.get(r, s, "/api/v1/segments/"+id+"/members", q, &members); err == nil {
			data["Members"], data["Next"] = members.Members, nextQuery(members.NextCursor)
		}
	}
	var hist map[string][]map[string]any
	if err := c.get(r, s, "/api/v1/segments/"+id+"/history", url.Values{"limit": {"20"}}, &hist); err == nil {
		data["History"] = hist["changes"]
	}
	c.render(w, r, s, "segment", http.StatusOK, data)
}

// segmentCSV serves GET /console/segments/{id}/members.csv: every member
// as the API streams it (GET /api/v1/segments/{id}/members?format=csv),
// written straight to the browser, never held in memory. The API records
// the export in the audit log.
func (c *Console) segmentCSV(w http.ResponseWriter, r *http.Request, s *session) {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "/api/v1/segments/"+url.PathEscape(r.PathValue("id"))+"/members?format=csv", nil)
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	req.RemoteAddr, req.TLS = r.RemoteAddr, r.TLS
	req.Header.Set("User-Agent", r.UserAgent())
	s.creds.apply(req)
	c.opts.API.ServeHTTP(w, req)
}
