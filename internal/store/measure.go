package store

import (
	"context"
	"strings"
	"time"
)

// MeasureRollups keeps what the measure stage derives from the event log:
// additive counters per day (cells), the sets of profiles behind distinct
// counts per day (serialised bitmaps), the orders deduplicated by order
// id, the touchpoints attribution credits, and a few facts per profile
// (first seen, first order). Days are local dates in the brand's time zone,
// counted from 1970-01-01. Everything is written by ApplyMeasure, in one
// transaction with the stage's checkpoint.
type MeasureRollups interface {
	// MeasureZone returns the time zone the rollups were built in ("" when
	// nothing was built yet).
	MeasureZone(ctx context.Context) (string, error)
	// ResetMeasure deletes every rollup, order, touch and profile fact and
	// the consumer's checkpoint, and records the zone the next build uses:
	// a rebuild from the log starts from it.
	ResetMeasure(ctx context.Context, consumer, zone string) error
	// ApplyMeasure writes one flush of the stage (see MeasureBatch).
	ApplyMeasure(ctx context.Context, b *MeasureBatch) error
	// MeasureProfiles pages the profile facts by id.
	MeasureProfiles(ctx context.Context, after int64, limit int) ([]MeasureProfile, error)
	// MeasureCells returns the counters q selects.
	MeasureCells(ctx context.Context, q CellQuery) ([]MeasureCell, error)
	// MeasureSets returns the profile sets q selects.
	MeasureSets(ctx context.Context, q SetQuery) ([]MeasureSet, error)
	// MeasureOrders returns the orders with these ids (missing ones are
	// absent from the map).
	MeasureOrders(ctx context.Context, ids []string) (map[string]*MeasureOrder, error)
	// ProfileOrders returns every order of the profiles.
	ProfileOrders(ctx context.Context, profiles []int64) ([]*MeasureOrder, error)
	// ScanOrders calls fn with each completed order whose time is in
	// [from, to), by time.
	ScanOrders(ctx context.Context, from, to time.Time, fn func(*MeasureOrder) error) error
	// ScanTouches calls fn with each touch whose time is in [from, to),
	// by profile then time.
	ScanTouches(ctx context.Context, from, to time.Time, fn func(*MeasureTouch) error) error
}

// MeasureReports keeps what reports read beside the rollups: the campaign
// costs, saved report definitions, and the journeys' arms.
type MeasureReports interface {
	// SaveCosts inserts or replaces the spend of each (day, channel,
	// campaign).
	SaveCosts(ctx context.Context, costs []MeasureCost) error
	// MeasureCosts returns the spend of the days in [from, to].
	MeasureCosts(ctx context.Context, from, to int32) ([]MeasureCost, error)
	// SaveMeasureDefinition inserts or replaces a saved report; its
	// version goes up when its definition changes.
	SaveMeasureDefinition(ctx context.Context, d *MeasureDefinition) error
	// MeasureDefinition returns one saved report, or ErrNotFound.
	MeasureDefinition(ctx context.Context, id string) (*MeasureDefinition, error)
	// ListMeasureDefinitions returns every saved report, by id.
	ListMeasureDefinitions(ctx context.Context) ([]*MeasureDefinition, error)
	// DeleteMeasureDefinition removes a saved report (ErrNotFound if none).
	DeleteMeasureDefinition(ctx context.Context, id string) error
	// JourneyArms returns, for every enrolment of a journey, its profile,
	// entry, arm and whether it converted: the material of experiments.
	JourneyArms(ctx context.Context, journey string) ([]JourneyArm, error)
}

// MeasureBatch is one flush of the measure stage. The engine applies, in
// one transaction: the cell deltas (added to what is stored), the sets
// (replacing what is stored; no bits deletes the row), the orders, touches
// and profiles (upserted; a touch keeps its earliest time), then the
// merges in order, then the checkpoint.
type MeasureBatch struct {
	Consumer string
	// From is the checkpoint the flush continues from and Checkpoint the
	// one it reaches: the engine refuses the flush with ErrConflict if the
	// stored checkpoint is not From (another process, or a rebuild,
	// moved it), since counters added twice would be wrong.
	From, Checkpoint int64
	Cells            []MeasureCell
	Sets             []MeasureSet
	Orders           []*MeasureOrder
	Touches          []MeasureTouch
	Profiles         []MeasureProfile
	// Merges moves the orders and touches of Merged to Into and deletes
	// Merged's profile facts.
	Merges []ProfileMerge
}

// ProfileMerge says that Merged became part of Into.
type ProfileMerge struct{ Into, Merged int64 }

// MeasureCell is one counter: the sum of a metric on a day for one value
// of a dimension ("" and "" for the total).
type MeasureCell struct {
	Day    int32
	Metric string
	Dim    string
	Value  string
	N      int64
}

// CellQuery selects counters: the days in [From, To], the metrics (all
// when empty), and the dimensions (Dims; "" is the total).
type CellQuery struct {
	From, To int32
	Metrics  []string
	Dims     []string
}

// MeasureSet is the set of profiles of a day for one value of a dimension,
// as a serialised roaring bitmap. Version is the checkpoint of the flush
// that wrote it, so that a reader may cache decoded sets.
type MeasureSet struct {
	Day     int32
	Name    string
	Dim     string
	Value   string
	Bits    []byte
	Version int64
}

// SetQuery selects sets like CellQuery; NoBits returns the keys and
// versions only.
type SetQuery struct {
	From, To int32
	Names    []string
	Dims     []string
	NoBits   bool
}

// MeasureOrder is one order as the measure stage counts it: the earliest
// Order Completed of its order id (by time, then message id) gives its
// time, profile and attributes; a cancellation takes it out of the
// counts; refunds are counted where they happen.
type MeasureOrder struct {
	ID      string    `json:"order_id"`
	Profile int64     `json:"profile_id"`
	At      time.Time `json:"at,omitzero"` // zero: no Order Completed seen yet
	Key     string    `json:"-"`           // the message id of the Order Completed that counts
	Channel string    `json:"channel,omitempty"`
	Source  string    `json:"source,omitempty"`
	Store   string    `json:"store,omitempty"`
	// Fulfillment is online, in_store or click_and_collect.
	Fulfillment string `json:"fulfillment,omitempty"`
	Cents       int64  `json:"cents"`
	// FullRefundAt is when a refund naming no amount gave the whole
	// order back.
	FullRefundAt time.Time `json:"full_refund_at,omitzero"`
	Cancelled    bool      `json:"cancelled,omitempty"`
}

// Counted reports whether the order counts: completed and not cancelled.
func (o *MeasureOrder) Counted() bool { return !o.At.IsZero() && !o.Cancelled }

// MeasureTouch is a touchpoint of a profile: a visit from a campaign (UTM),
// a message sent, opened or clicked, a store visit, a call-center contact.
// One is kept per profile, kind, channel, campaign and day, at its earliest
// time.
type MeasureTouch struct {
	Profile  int64
	Kind     string
	Channel  string
	Campaign string
	Day      int32
	At       time.Time
}

// MeasureProfile is what the measure stage keeps per profile.
type MeasureProfile struct {
	ID int64
	// FirstSeen is the time of the profile's first visit or order, and
	// Acquisition how it came then (the UTM source, else the channel).
	FirstSeen   time.Time
	Acquisition string
	// MinDay and LastDay bound the days the profile is in any set: a
	// merge moves it out of those days' sets.
	MinDay, LastDay int32
	// FirstOrder is the time of its first counted order, on OrderChannel
	// at OrderStore.
	FirstOrder   time.Time
	OrderChannel string
	OrderStore   string
}

// MeasureCost is what was spent on a channel (and campaign) on a day.
type MeasureCost struct {
	Day      int32  `json:"-"`
	Date     string `json:"date"`
	Channel  string `json:"channel"`
	Campaign string `json:"campaign"`
	Cents    int64  `json:"cents"`
	Currency string `json:"currency,omitempty"`
}

// MeasureDefinition is a saved report (a funnel, a KPI dashboard, ...).
type MeasureDefinition struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Version    int       `json:"version"`
	Definition []byte    `json:"-"` // JSON
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// JourneyArm is one enrolment seen by an experiment: its arm is
// "control" for the holdout (control group), else "treatment"; Split and
// Variant name the split step and variant it took, if any.
type JourneyArm struct {
	Enrolment int64
	Version   int
	Profile   int64
	EnteredAt time.Time
	Control   bool
	Split     string
	Variant   string
	Converted bool
}

// MeasureWhere turns the day range, names and dimensions of a cell or set
// query into conditions (the name column is metric for cells, name for
// sets).
func MeasureWhere(w *Where, from, to int32, nameCol string, names, dims []string) {
	w.Add("day >= ?", from)
	w.Add("day <= ?", to)
	w.InStrings(nameCol, names)
	w.InStrings("dim", dims)
}

// InStrings adds "column IN (...)" for the values; none adds nothing (no
// filter).
func (w *Where) InStrings(column string, values []string) {
	if len(values) == 0 {
		return
	}
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	w.Add(column+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ")+")", args...)
}
