package httpapi

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/store"
)

// segmentView is a segment as the API shows it.
type segmentView struct {
	*segment.Definition
	Version   int       `json:"version"`
	Status    string    `json:"status"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Backfill  *progress `json:"backfill,omitempty"`
}

type progress struct {
	Done  int64 `json:"profiles_done"`
	Total int64 `json:"profiles_total"`
}

// segmentViews returns the stored segments, archived ones only if asked.
func (a *API) segmentViews(ctx context.Context, archived bool) ([]segmentView, error) {
	recs, defs, err := a.segments.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	sizes, err := a.store.SegmentSizes(ctx)
	if err != nil {
		return nil, err
	}
	out := []segmentView{}
	for i, r := range recs {
		if r.Status == segment.StatusArchived && !archived {
			continue
		}
		v := segmentView{Definition: defs[i], Version: r.Version, Status: r.Status, Size: sizes[r.ID], CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
		if r.Status == segment.StatusBackfilling {
			done, total := a.segments.BackfillProgress()
			v.Backfill = &progress{done, total}
		}
		out = append(out, v)
	}
	return out, nil
}

// listSegments serves GET /api/v1/segments (?archived=true shows those too).
func (a *API) listSegments(w http.ResponseWriter, r *http.Request) {
	list, err := a.segmentViews(r.Context(), r.URL.Query().Get("archived") == "true")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"segments": list})
}

func (a *API) getSegment(w http.ResponseWriter, r *http.Request) {
	list, err := a.segmentViews(r.Context(), true)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(list, func(v segmentView) bool { return v.ID == r.PathValue("id") })
	if i < 0 {
		a.fail(w, r, problem.NotFound("segment", r.PathValue("id")))
		return
	}
	httpjson.Write(w, http.StatusOK, list[i])
}

// decodeJSON decodes b into v, refusing unknown fields.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// readDefinitions reads a body holding one definition, or
// {"segments": [...]} for several applied together.
func readDefinitions(r *http.Request) ([]*segment.Definition, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err != nil {
		return nil, problem.Invalid("body", "unreadable or over 1 MiB: "+err.Error())
	}
	if err := checkBody(body); err != nil {
		return nil, err
	}
	var many struct {
		Segments []*segment.Definition `json:"segments"`
	}
	if err := decodeJSON(body, &many); err == nil && len(many.Segments) > 0 {
		return many.Segments, nil
	}
	d, err := segment.ParseJSON(body)
	if err != nil {
		return nil, err
	}
	return []*segment.Definition{d}, nil
}

// saveSegments serves POST /api/v1/segments: it validates, stores and
// starts the backfill, answering 202 at once; with ?wait=true it answers
// when the backfill is done.
func (a *API) saveSegments(w http.ResponseWriter, r *http.Request) {
	defs, err := readDefinitions(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.segments.Validate(r.Context(), defs); err != nil {
		a.fail(w, r, err)
		return
	}
	recs, err := a.segments.Put(r.Context(), defs)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if r.URL.Query().Get("wait") == "true" {
		if err := a.segments.Finish(r.Context(), recs, nil); err != nil {
			a.fail(w, r, err)
			return
		}
		a.writeSegments(w, r, defs, http.StatusOK)
		return
	}
	go func() {
		if err := a.segments.Finish(context.WithoutCancel(r.Context()), recs, nil); err != nil {
			a.log.Error("segments: backfill failed", "err", err)
		}
	}()
	a.writeSegments(w, r, defs, http.StatusAccepted)
}

func (a *API) writeSegments(w http.ResponseWriter, r *http.Request, defs []*segment.Definition, status int) {
	list, err := a.segmentViews(r.Context(), true)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []segmentView{}
	for _, v := range list {
		if slices.ContainsFunc(defs, func(d *segment.Definition) bool { return d.ID == v.ID }) {
			out = append(out, v)
		}
	}
	httpjson.Write(w, status, map[string]any{"segments": out})
}

// previewSegment serves POST /api/v1/segments/preview: the size and a
// sample of an unsaved definition.
func (a *API) previewSegment(w http.ResponseWriter, r *http.Request) {
	defs, err := readDefinitions(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if len(defs) != 1 {
		a.fail(w, r, problem.Invalid("body", "preview takes one definition"))
		return
	}
	sample, _ := strconv.Atoi(r.URL.Query().Get("sample"))
	if sample <= 0 || sample > 100 {
		sample = 10
	}
	preview := a.segments.Preview
	if r.URL.Query().Get("from") == "timelines" {
		preview = a.segments.PreviewTimelines
	}
	p, err := preview(r.Context(), defs[0], sample, nil)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, p)
}

func (a *API) archiveSegment(w http.ResponseWriter, r *http.Request) {
	if err := a.segments.Archive(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	a.getSegment(w, r)
}

// pathSegment returns the id of the path's segment, or answers 404 naming
// it when no segment (live, backfilling or archived) has that id: its
// members, counts and history are not an empty list but an unknown
// segment.
func (a *API) pathSegment(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	recs, err := a.store.ListSegments(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return "", false
	}
	if !slices.ContainsFunc(recs, func(s *store.SegmentRecord) bool { return s.ID == id }) {
		a.fail(w, r, &problem.NotFoundError{Kind: "segment", ID: id, Hint: "GET /api/v1/segments lists them"})
		return "", false
	}
	return id, true
}

// segmentMembers serves GET /api/v1/segments/{id}/members, paged, or as
// CSV with ?format=csv (every member, streamed).
func (a *API) segmentMembers(w http.ResponseWriter, r *http.Request) {
	id, ok := a.pathSegment(w, r)
	if !ok {
		return
	}
	v := r.URL.Query()
	if v.Get("format") == "csv" {
		a.segmentCSV(w, r, id)
		return
	}
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
	list, err := a.store.SegmentMembers(r.Context(), id, c.After, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := struct {
		Members    []store.SegmentMember `json:"members"`
		NextCursor string                `json:"next_cursor,omitempty"`
	}{Members: []store.SegmentMember{}}
	page.Members = append(page.Members, list...)
	if len(list) == limit {
		page.NextCursor = cursor{After: list[len(list)-1].Profile}.encode()
	}
	httpjson.Write(w, http.StatusOK, page)
}

// segmentCSV streams every member with their main identifiers.
func (a *API) segmentCSV(w http.ResponseWriter, r *http.Request, id string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"profile_id", "since", "user_id", "email", "phone"})
	for after := int64(0); ; {
		list, err := a.store.SegmentMembers(r.Context(), id, after, 1000)
		if err != nil {
			a.log.Error("segments: csv export failed", "segment", id, "err", err)
			return
		}
		if len(list) == 0 {
			break
		}
		ids := make([]int64, len(list))
		for i, m := range list {
			ids[i] = m.Profile
		}
		profiles, err := a.store.LoadProfiles(r.Context(), ids)
		if err != nil {
			a.log.Error("segments: csv export failed", "segment", id, "err", err)
			return
		}
		for _, m := range list {
			row := []string{strconv.FormatInt(m.Profile, 10), m.Since.Format(time.RFC3339), "", "", ""}
			if p := profiles[m.Profile]; p != nil {
				for _, x := range p.Identifiers {
					switch x.Kind {
					case identity.UserID:
						row[2] = x.Value
					case identity.Email:
						row[3] = x.Value
					case identity.Phone:
						row[4] = x.Value
					}
				}
			}
			_ = cw.Write(row)
		}
		after = list[len(list)-1].Profile
	}
	cw.Flush()
}

func (a *API) segmentCounts(w http.ResponseWriter, r *http.Request) {
	id, ok := a.pathSegment(w, r)
	if !ok {
		return
	}
	counts, err := a.store.SegmentCounts(r.Context(), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if counts == nil {
		counts = []store.SegmentCount{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"counts": counts})
}

// segmentHistory serves GET /api/v1/segments/{id}/history (?profile=ID),
// newest first, paged.
func (a *API) segmentHistory(w http.ResponseWriter, r *http.Request) {
	id, ok := a.pathSegment(w, r)
	if !ok {
		return
	}
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
	q := store.SegmentHistoryQuery{Segment: id, Before: c.Before, Limit: limit}
	if p := v.Get("profile"); p != "" {
		if q.Profile, err = strconv.ParseInt(p, 10, 64); err != nil {
			a.fail(w, r, problem.Invalid("profile", "must be a profile id"))
			return
		}
	}
	list, err := a.store.SegmentHistory(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := struct {
		Changes    []store.SegmentChange `json:"changes"`
		NextCursor string                `json:"next_cursor,omitempty"`
	}{Changes: []store.SegmentChange{}}
	page.Changes = append(page.Changes, list...)
	if len(list) == limit {
		page.NextCursor = cursor{Before: list[len(list)-1].ID}.encode()
	}
	httpjson.Write(w, http.StatusOK, page)
}
