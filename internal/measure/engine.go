package measure

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/clock"
	"github.com/parcours/parcours/internal/store"
)

// Engine answers the reports. Rollups is the embedded one (the measure
// stage's rollups, the behaviour index for funnels); an engine for
// billions of events (ClickHouse, through its Go client) implements the
// same methods with SQL over its events table (docs/measure.md, "At
// scale").
type Engine interface {
	KPIs(ctx context.Context, q KPIQuery) (*KPIReport, error)
	Funnel(ctx context.Context, q FunnelQuery) (*FunnelReport, error)
	Cohorts(ctx context.Context, q CohortQuery) (*CohortReport, error)
	Attribution(ctx context.Context, q AttributionQuery) (*AttributionReport, error)
}

// ReportStore is what the embedded engine reads.
type ReportStore interface {
	store.MeasureRollups
	store.MeasureReports
	Checkpoint(ctx context.Context, consumer string) (int64, error)
}

// Rollups is the embedded engine: reports read the rollups the measure
// stage keeps (counters and profile sets per day), never the event log.
type Rollups struct {
	st    ReportStore
	zone  *time.Location
	clock clock.Clock
	sets  *setReader
	// Index, if set, is the behaviour index funnels read.
	Index FunnelIndex
}

// NewRollups returns the embedded engine over st, in the brand's zone.
func NewRollups(st ReportStore, zone *time.Location, clk clock.Clock) *Rollups {
	if zone == nil {
		zone = time.UTC
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &Rollups{st: st, zone: zone, clock: clk, sets: newSetReader(256 << 20)}
}

// today is the current local date.
func (e *Rollups) today() int32 { return dayOf(e.clock.Now(), e.zone) }
