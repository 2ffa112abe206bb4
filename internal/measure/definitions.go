package measure

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parcours/parcours/internal/store"
)

// SavedDefinition is a saved report as the API lists it.
type SavedDefinition struct {
	*Definition
	Version   int    `json:"version"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// SaveDefinitions validates every definition, then saves them; one that
// did not change keeps its version.
func (s *Service) SaveDefinitions(ctx context.Context, defs []*Definition) ([]SavedDefinition, error) {
	for _, d := range defs {
		if err := d.Validate(); err != nil {
			return nil, err
		}
	}
	out := []SavedDefinition{}
	now := s.clock.Now()
	for _, d := range defs {
		body, err := d.encode()
		if err != nil {
			return nil, err
		}
		rec := &store.MeasureDefinition{ID: d.ID, Kind: d.Kind, Definition: body, CreatedAt: now, UpdatedAt: now}
		if err := s.st.SaveMeasureDefinition(ctx, rec); err != nil {
			return nil, fmt.Errorf("measure: save %s: %w", d.ID, err)
		}
		out = append(out, saved(d, rec))
	}
	return out, nil
}

func saved(d *Definition, rec *store.MeasureDefinition) SavedDefinition {
	return SavedDefinition{Definition: d, Version: rec.Version, CreatedAt: rec.CreatedAt.Format("2006-01-02T15:04:05Z07:00"),
		UpdatedAt: rec.UpdatedAt.Format("2006-01-02T15:04:05Z07:00")}
}

func decodeDefinition(rec *store.MeasureDefinition) (*Definition, error) {
	var d Definition
	if err := json.Unmarshal(rec.Definition, &d); err != nil {
		return nil, fmt.Errorf("measure: saved report %s: %w", rec.ID, err)
	}
	return &d, nil
}

// Definitions lists the saved reports.
func (s *Service) Definitions(ctx context.Context) ([]SavedDefinition, error) {
	recs, err := s.st.ListMeasureDefinitions(ctx)
	if err != nil {
		return nil, err
	}
	out := []SavedDefinition{}
	for _, rec := range recs {
		d, err := decodeDefinition(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, saved(d, rec))
	}
	return out, nil
}

// Definition returns one saved report (store.ErrNotFound if none).
func (s *Service) Definition(ctx context.Context, id string) (*SavedDefinition, error) {
	rec, err := s.st.MeasureDefinition(ctx, id)
	if err != nil {
		return nil, err
	}
	d, err := decodeDefinition(rec)
	if err != nil {
		return nil, err
	}
	out := saved(d, rec)
	return &out, nil
}

// DeleteDefinition removes a saved report.
func (s *Service) DeleteDefinition(ctx context.Context, id string) error {
	return s.st.DeleteMeasureDefinition(ctx, id)
}

// Run runs a saved report over [from, to] (default: its range to today)
// and returns its answer: a *FunnelReport, *KPIReport, *CohortReport or
// *AttributionReport.
func (s *Service) Run(ctx context.Context, id, from, to string) (any, error) {
	sd, err := s.Definition(ctx, id)
	if err != nil {
		return nil, err
	}
	d := sd.Definition
	from, to = d.rangeOf(from, to, dayOf(s.clock.Now(), s.zone))
	switch {
	case d.Kind == KindFunnel:
		return s.Engine.Funnel(ctx, d.funnel(from, to))
	case d.Report == ReportKPIs:
		return s.Engine.KPIs(ctx, KPIQuery{From: from, To: to, KPIs: d.KPIs, Breakdown: d.Breakdown, Interval: d.Interval})
	case d.Report == ReportCohorts:
		return s.Engine.Cohorts(ctx, CohortQuery{From: from, To: to, Interval: d.Interval, By: d.By, Activity: d.Activity, Split: d.Split, Periods: d.Periods})
	case d.Report == ReportAttribution:
		return s.Engine.Attribution(ctx, AttributionQuery{From: from, To: to, By: d.By, Lookback: d.Lookback, HalfLife: d.HalfLife})
	}
	return nil, fmt.Errorf("measure: saved report %s: kind %s report %s cannot run", id, d.Kind, d.Report)
}
