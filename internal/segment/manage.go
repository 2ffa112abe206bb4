package segment

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/store"
)

// The statuses of a stored segment.
const (
	StatusBackfilling = "backfilling"
	StatusLive        = "live"
	StatusArchived    = "archived"
)

func decodeRecord(r *store.SegmentRecord) (*Definition, error) {
	var d Definition
	if err := json.Unmarshal(r.Definition, &d); err != nil {
		return nil, fmt.Errorf("segment: stored definition of %s: %w", r.ID, err)
	}
	return &d, nil
}

// ParseJSON reads one definition from JSON, refusing unknown fields.
func ParseJSON(b []byte) (*Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, invalid("", "body", err.Error())
	}
	return &d, nil
}

// ParseYAML reads every definition of a YAML stream (documents separated
// by ---). JSON is YAML too. Errors carry the line.
func ParseYAML(name string, r io.Reader) ([]*Definition, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var out []*Definition
	for i := 1; ; i++ {
		var d Definition
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, invalid("", fmt.Sprintf("%s: document %d", name, i), strings.TrimPrefix(err.Error(), "yaml: "))
		}
		// Values from YAML are ints where JSON would give float64s.
		normalise(&d.Where)
		out = append(out, &d)
	}
}

// normalise turns YAML's ints into float64s, as JSON decodes them.
func normalise(c *Condition) {
	c.walk(func(x *Condition) {
		x.Equals = norm(x.Equals)
		x.Contains = norm(x.Contains)
		for i := range x.In {
			x.In[i] = norm(x.In[i])
		}
		if x.Performed != nil {
			for k, v := range x.Performed.Where {
				x.Performed.Where[k] = norm(v)
			}
		}
	})
}

func norm(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case []any:
		for i := range x {
			x[i] = norm(x[i])
		}
	}
	return v
}

// Definitions returns every stored definition (archived ones too) with its
// record.
func (s *Stage) Definitions(ctx context.Context) ([]*store.SegmentRecord, []*Definition, error) {
	recs, err := s.st.ListSegments(ctx)
	if err != nil {
		return nil, nil, err
	}
	defs := make([]*Definition, len(recs))
	for i, r := range recs {
		if defs[i], err = decodeRecord(r); err != nil {
			return nil, nil, err
		}
	}
	return recs, defs, nil
}

// Validate checks defs as a group that would be saved together with the
// segments already stored.
func (s *Stage) Validate(ctx context.Context, defs []*Definition) error {
	recs, stored, err := s.Definitions(ctx)
	if err != nil {
		return err
	}
	known := Known{Segments: map[string]*Definition{}, Stores: s.o.Stores}
	for i, d := range stored {
		if recs[i].Status != StatusArchived {
			known.Segments[d.ID] = d
		}
	}
	for _, d := range defs {
		known.Segments[d.ID] = d
	}
	for _, d := range defs {
		if err := Validate(d, known); err != nil {
			return err
		}
	}
	return nil
}

// Save validates and stores definitions, then backfills the segments they
// change over every profile. progress (may be nil) is called as profiles
// are done. It returns the saved records.
func (s *Stage) Save(ctx context.Context, defs []*Definition, progress func(done, total int64)) ([]*store.SegmentRecord, error) {
	recs, err := s.Put(ctx, defs)
	if err != nil {
		return nil, err
	}
	return recs, s.Finish(ctx, recs, progress)
}

// Put validates and stores definitions (a changed one gets a new version,
// status backfilling) and makes them live for new events. Finish
// backfills them.
func (s *Stage) Put(ctx context.Context, defs []*Definition) ([]*store.SegmentRecord, error) {
	if err := s.Validate(ctx, defs); err != nil {
		return nil, err
	}
	recs, stored, err := s.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	var changed []*store.SegmentRecord
	for _, d := range defs {
		d.Kind = ""
		body, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(stored, func(o *Definition) bool { return o.ID == d.ID })
		if i >= 0 && recs[i].Status == StatusLive {
			if old, _ := json.Marshal(stored[i]); bytes.Equal(old, body) {
				changed = append(changed, recs[i]) // unchanged: no new version
				continue
			}
		}
		r := &store.SegmentRecord{ID: d.ID, Definition: body, Status: StatusBackfilling, UpdatedAt: s.o.Clock.Now()}
		if err := s.st.SaveSegment(ctx, r); err != nil {
			return nil, err
		}
		changed = append(changed, r)
	}
	if err := s.Load(ctx); err != nil {
		return nil, err
	}
	return changed, nil
}

// Finish backfills every profile and marks recs live.
func (s *Stage) Finish(ctx context.Context, recs []*store.SegmentRecord, progress func(done, total int64)) error {
	if !slices.ContainsFunc(recs, func(r *store.SegmentRecord) bool { return r.Status == StatusBackfilling }) {
		return nil
	}
	if err := s.Backfill(ctx, progress); err != nil {
		return err
	}
	for _, r := range recs {
		if r.Status == StatusBackfilling {
			r.Status = StatusLive
			if err := s.st.SaveSegment(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Archive stops a segment: it is no longer evaluated and its members are
// removed at the next backfill. Segments that refer to it must go first.
func (s *Stage) Archive(ctx context.Context, id string) error {
	recs, defs, err := s.Definitions(ctx)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(defs, func(d *Definition) bool { return d.ID == id })
	if i < 0 {
		return problem.NotFound("segment", id)
	}
	for j, d := range defs {
		if recs[j].Status != StatusArchived && slices.Contains(d.Where.members(), id) {
			return invalid(id, "id", "segment "+d.ID+" refers to it; archive or change that one first")
		}
	}
	recs[i].Status = StatusArchived
	recs[i].UpdatedAt = s.o.Clock.Now()
	if err := s.st.SaveSegment(ctx, recs[i]); err != nil {
		return err
	}
	if err := s.Load(ctx); err != nil {
		return err
	}
	return s.Backfill(ctx, nil)
}

// Preview is an unsaved segment's size and a sample of its members.
type Preview struct {
	Size     int64              `json:"size"`
	Profiles int64              `json:"profiles_evaluated"`
	Sample   []*profile.Profile `json:"-"`
	SampleID []int64            `json:"sample"`
	// Via says how it was evaluated: "index" (the behaviour index
	// alone), "index+profiles" (behaviour from the index, the other
	// conditions from every profile), "profiles" (no behaviour: every
	// profile) or "timelines" (every profile and its events).
	Via  string        `json:"via"`
	Took time.Duration `json:"-"`
	// TookMs is Took in milliseconds, for the API.
	TookMs int64 `json:"took_ms"`
}

// Preview evaluates d (not saved) over every profile and returns its
// size and up to sample members: from the behaviour index when it can
// answer every condition, else from the profiles and their timelines.
func (s *Stage) Preview(ctx context.Context, d *Definition, sample int, progress func(done, total int64)) (*Preview, error) {
	return s.preview(ctx, d, sample, progress, true)
}

// PreviewTimelines is Preview from the profiles and their timelines
// only, never the index (to check one against the other).
func (s *Stage) PreviewTimelines(ctx context.Context, d *Definition, sample int, progress func(done, total int64)) (*Preview, error) {
	return s.preview(ctx, d, sample, progress, false)
}

func (s *Stage) preview(ctx context.Context, d *Definition, sample int, progress func(done, total int64), index bool) (*Preview, error) {
	if err := s.Validate(ctx, []*Definition{d}); err != nil {
		return nil, err
	}
	_, stored, err := s.Definitions(ctx)
	if err != nil {
		return nil, err
	}
	defs := []*Definition{d}
	// The segments d refers to are evaluated with it.
	need := d.Where.members()
	for len(need) > 0 {
		id := need[0]
		need = need[1:]
		if slices.ContainsFunc(defs, func(x *Definition) bool { return x.ID == id }) {
			continue
		}
		i := slices.IndexFunc(stored, func(x *Definition) bool { return x.ID == id })
		if i >= 0 {
			defs = append(defs, stored[i])
			need = append(need, stored[i].Where.members()...)
		}
	}
	set, err := NewSet(defs)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if out, ok := s.indexPreview(set, d.ID, sample); ok && index {
		out.Took, out.TookMs = time.Since(start), time.Since(start).Milliseconds()
		return out, nil
	}
	out := &Preview{Via: "timelines"}
	defer func() { out.Took, out.TookMs = time.Since(start), time.Since(start).Milliseconds() }()
	out.Via, err = s.scan(ctx, set, index, progress, func(p *profile.Profile, res Result) error {
		out.Profiles++
		if res.Members[d.ID] {
			out.Size++
			if len(out.SampleID) < sample {
				out.SampleID = append(out.SampleID, p.ID)
			}
		}
		return nil
	})
	return out, err
}
