package measure

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/store"
)

// ServiceStore is what the service reads and writes besides the engine.
type ServiceStore interface {
	store.MeasureReports
	ScanOrders(ctx context.Context, from, to time.Time, fn func(*store.MeasureOrder) error) error
	store.Journeys
	Checkpoint(ctx context.Context, consumer string) (int64, error)
	LastSeq(ctx context.Context) (int64, error)
}

// Service is the Measure part as the API and the CLI use it: the reports
// (through an Engine), costs, experiments, saved reports and the stage's
// state.
type Service struct {
	Engine Engine
	Stage  *Stage // nil: no stage in this process (status says so)
	st     ServiceStore
	zone   *time.Location
	clock  clock.Clock
}

// NewService returns the service.
func NewService(st ServiceStore, engine Engine, stage *Stage, zone *time.Location, clk clock.Clock) *Service {
	if zone == nil {
		zone = time.UTC
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &Service{Engine: engine, Stage: stage, st: st, zone: zone, clock: clk}
}

// CostImport is what an import of campaign costs saved.
type CostImport struct {
	Rows  int    `json:"rows"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	Cents int64  `json:"cents"`
}

// ImportCosts saves the rows of a cost file (ParseCosts); a row of the
// same day, channel and campaign replaces the one saved before, so
// importing a file twice changes nothing.
func (s *Service) ImportCosts(ctx context.Context, r io.Reader) (*CostImport, error) {
	rows, err := ParseCosts(r)
	if err != nil {
		return nil, err
	}
	out := &CostImport{Rows: len(rows)}
	if len(rows) == 0 {
		return out, nil
	}
	from, to := rows[0].Day, rows[0].Day
	for _, c := range rows {
		from, to = min(from, c.Day), max(to, c.Day)
		out.Cents += c.Cents
	}
	if err := s.st.SaveCosts(ctx, rows); err != nil {
		return nil, fmt.Errorf("measure: save costs: %w", err)
	}
	out.From, out.To = dayString(from), dayString(to)
	return out, nil
}

// Costs returns the costs of a range (as KPIQuery reads from and to).
func (s *Service) Costs(ctx context.Context, from, to string) ([]store.MeasureCost, error) {
	p, err := parsePeriod(from, to, dayOf(s.clock.Now(), s.zone))
	if err != nil {
		return nil, err
	}
	rows, err := s.st.MeasureCosts(ctx, p.from, p.to)
	for i := range rows {
		rows[i].Date = dayString(rows[i].Day)
	}
	return rows, err
}

// Status is how far the rollups are.
type Status struct {
	TimeZone   string `json:"time_zone"`
	Checkpoint int64  `json:"checkpoint"` // the last event counted
	LastSeq    int64  `json:"last_seq"`   // the last event in the log
	Behind     int64  `json:"behind"`     // events not counted yet
	// BehindUnify are the events unify has handled that the rollups do
	// not count yet: the stage's own lag (it reads behind unify).
	BehindUnify int64 `json:"behind_unify"`
	// Rebuilding: a rebuild was asked for (POST /api/v1/measure/rebuild)
	// and has not started counting again; the figures are whole again
	// once it is false and behind is 0.
	Rebuilding bool `json:"rebuilding"`
}

// Status reports how far the rollups are behind the log.
func (s *Service) Status(ctx context.Context) (*Status, error) {
	// Asked first: once it says no rebuild is pending, the checkpoint
	// read next is the rebuilt one.
	rebuilding := s.Stage != nil && s.Stage.Rebuilding()
	cp, err := s.st.Checkpoint(ctx, Consumer)
	if err != nil {
		return nil, err
	}
	last, err := s.st.LastSeq(ctx)
	if err != nil {
		return nil, err
	}
	uni, err := s.st.Checkpoint(ctx, unifyConsumer)
	if err != nil {
		return nil, err
	}
	return &Status{TimeZone: s.zone.String(), Checkpoint: cp, LastSeq: last, Behind: max(0, last-cp), BehindUnify: max(0, uni-cp), Rebuilding: rebuilding}, nil
}

// Rebuild drops the rollups and counts the whole log again, in the
// background (Status shows the progress).
func (s *Service) Rebuild() error {
	if s.Stage == nil {
		return fmt.Errorf("%w: no measure stage runs in this process", ErrNotReady)
	}
	s.Stage.Rebuild()
	return nil
}
