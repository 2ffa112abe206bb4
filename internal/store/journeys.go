package store

import (
	"context"
	"time"
)

// Journeys keeps journey definitions, every version of each, and the
// enrolments: one row per customer's passage through a journey, with its
// current step and its timer (the instant its next step is due). Due
// enrolments are found by their timer, never by scanning everyone, and
// handed out under a lease so that two workers never run the same one.
type Journeys interface {
	// SaveJourney inserts or replaces a journey; the version goes up by
	// one each time its definition changes (not its status), and every
	// version stays readable.
	SaveJourney(ctx context.Context, j *JourneyRecord) error
	// ListJourneys returns the latest version of every journey, by id.
	ListJourneys(ctx context.Context) ([]*JourneyRecord, error)
	// JourneyVersion returns one version of a journey (0: the latest), or
	// ErrNotFound.
	JourneyVersion(ctx context.Context, id string, version int) (*JourneyRecord, error)
	// SetJourneyStatus changes a journey's status (ErrNotFound if there is
	// none). Archiving ends its active enrolments with the reason
	// "journey archived".
	SetJourneyStatus(ctx context.Context, id, status string, at time.Time) error
	// ProfileEnrolments returns every enrolment of the profiles, oldest
	// first.
	ProfileEnrolments(ctx context.Context, profiles []int64) ([]*Enrolment, error)
	// ClaimDueEnrolments leases to owner, until now+lease, up to limit
	// active enrolments of live journeys whose timer is due at or before
	// now and whose lease (if any) has expired, earliest first. An
	// enrolment is never leased to two owners at once.
	ClaimDueEnrolments(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int) ([]*Enrolment, error)
	// ReleaseEnrolmentLeases ends the leases owner holds after now: a
	// restarted node's previous run died holding them, and their
	// enrolments are due again at once instead of after the lease. It
	// returns how many it released.
	ReleaseEnrolmentLeases(ctx context.Context, owner string, now time.Time) (int64, error)
	// ApplyJourneys writes one batch in one transaction: new enrolments
	// (their ID is set on return), updated ones, and the consumer's
	// checkpoint when it is set.
	ApplyJourneys(ctx context.Context, b *JourneyBatch) error
	// ActiveEnrolments pages the active enrolments of one version of a
	// journey, by id.
	ActiveEnrolments(ctx context.Context, journey string, version int, after int64, limit int) ([]*Enrolment, error)
	// EnrolmentCounts counts a journey's enrolments by status.
	EnrolmentCounts(ctx context.Context, journey string) (map[string]int64, error)
	// JourneyStats counts what the step log recorded for a journey.
	JourneyStats(ctx context.Context, journey string) (*JourneyStats, error)
}

// StepLog is one thing that happened to an enrolment, for the analytics:
// it entered, a step ran with an outcome, it ended.
type StepLog struct {
	// Enrolment is the enrolment (its ID is read once it is written, so a
	// new enrolment's entry can be logged in the batch that inserts it).
	Enrolment *Enrolment
	Step      string // the step's address; "" for enter and the end
	Kind      string // enter, send, wait_for, branch, split, update_trait, completed, exited
	// Outcome: entered or control; sent, not sent or failed; event or
	// timeout; the case taken; the variant; the end's reason.
	Outcome string
	Channel string // sends
	At      time.Time
}

// JourneyStats is a journey's analytics, over every version.
type JourneyStats struct {
	Journey string `json:"journey_id"`
	// Enrolments by status (active: in progress).
	Enrolments map[string]int64 `json:"enrolments"`
	Entered    int64            `json:"entered"`
	// Exits counts the exited enrolments by reason.
	Exits map[string]int64 `json:"exits"`
	// Handed counts the messages the journey handed to the message
	// pipeline, by the channel its steps named ("best" included).
	Handed map[string]int64 `json:"handed"`
	// Sent counts the journey's messages a provider accepted, by the
	// channel they went out on: not the ones still waiting (queued,
	// deferred by quiet hours or caps, retrying), skipped (no consent,
	// no address, suppressed) or failed. Messages has every status.
	Sent map[string]int64 `json:"sent"`
	// Messages counts the journey's messages in the outbox by status
	// (queued, deferred, retrying, sending, sent, skipped, failed), then
	// channel.
	Messages map[string]map[string]int64 `json:"messages"`
	Steps    []StepCount                 `json:"steps"`
	// Variants says, per split variant, how the enrolments that took it
	// stand (by status).
	Variants []VariantCount `json:"variants"`
	// Converted counts the enrolments that reached the journey's goal
	// within its window; ConversionRate is Converted / Entered.
	Converted      int64   `json:"converted"`
	ConversionRate float64 `json:"conversion_rate"`
	// ABResults are the A/B results of each split: per variant, the
	// enrolments that took it, how many converted, and the p-value of
	// the difference with the split's first variant by name.
	ABResults []VariantResult `json:"ab_results"`
}

// VariantResult is how a split's variant converted. PValue is the
// two-sided p-value of a two-proportion z-test between this variant and
// the split's first variant by name (the reference; nil for it, and
// when either has no enrolment or the pooled rate is 0 or 1): the probability of a
// difference at least this large if both converted at the same rate.
type VariantResult struct {
	Version        int      `json:"version"`
	Step           string   `json:"step"`
	Variant        string   `json:"variant"`
	Entered        int64    `json:"entered"`
	Converted      int64    `json:"converted"`
	ConversionRate float64  `json:"conversion_rate"`
	PValue         *float64 `json:"p_value"`
}

// StepCount is how often a step of a version had an outcome.
type StepCount struct {
	Version int    `json:"version"`
	Step    string `json:"step"`
	Kind    string `json:"kind"`
	Outcome string `json:"outcome"`
	Count   int64  `json:"count"`
}

// VariantCount is how many enrolments that took a split's variant have a
// status.
type VariantCount struct {
	Version int    `json:"version"`
	Step    string `json:"step"`
	Variant string `json:"variant"`
	Status  string `json:"status"`
	Count   int64  `json:"count"`
}

// JourneyRecord is a stored journey definition.
type JourneyRecord struct {
	ID         string    `json:"id"`
	Version    int       `json:"version"`
	Definition []byte    `json:"-"`      // JSON
	Status     string    `json:"status"` // "live", "paused", "archived"
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Enrolment is one customer's passage through one version of a journey.
type Enrolment struct {
	ID      int64  `json:"id"`
	Journey string `json:"journey_id"`
	Version int    `json:"version"`
	Profile int64  `json:"profile_id"`
	// Status is "active", "completed", "exited" or "control" (in the
	// control group: enrolled, never sent anything).
	Status string `json:"status"`
	// Step is the address of the current step ("steps[2].on_event[0]").
	Step string `json:"step"`
	// State is the engine's JSON (what it waits for, the split variant).
	State []byte `json:"-"`
	// DueAt is when the current step is due; zero: no timer.
	DueAt     time.Time `json:"due_at,omitzero"`
	EnteredAt time.Time `json:"entered_at"`
	UpdatedAt time.Time `json:"updated_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	Reason    string    `json:"reason,omitempty"`
}

// JourneyBatch is what one batch of events, or of due timers, changed.
type JourneyBatch struct {
	Consumer   string
	Checkpoint int64 // 0: leave the checkpoint alone
	Insert     []*Enrolment
	// Update replaces enrolments by id (their profile and version too: a
	// merge moves them to the surviving profile, a migration to a newer
	// version). With Owner set, only those still
	// leased to Owner are written (the others were taken over after the
	// lease expired), and their lease is released.
	Update []*Enrolment
	Owner  string
	// Log is appended, after the inserts (so new enrolments have ids).
	Log []StepLog
	At  time.Time
}
