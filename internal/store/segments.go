package store

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// Segments keeps the segment definitions and what the segment stage
// derives from the event log: per-profile segment state (behaviour facts,
// memberships), members, the membership history, counts over time, and one
// timer per profile for the next instant its membership can change with
// time alone.
type Segments interface {
	// SaveSegment inserts or replaces a definition; the version goes up
	// by one each time the definition of an id changes (not its status).
	SaveSegment(ctx context.Context, s *SegmentRecord) error
	ListSegments(ctx context.Context) ([]*SegmentRecord, error)
	// SegmentStates returns the stored states (JSON) of the profiles.
	SegmentStates(ctx context.Context, profiles []int64) (map[int64][]byte, error)
	// ApplySegments writes one processed batch, with the consumer's
	// checkpoint when it is set, in one transaction.
	ApplySegments(ctx context.Context, b *SegmentBatch) error
	// DueSegmentTimers returns up to limit profiles whose timer is due at
	// or before until, earliest first.
	DueSegmentTimers(ctx context.Context, until time.Time, limit int) ([]int64, error)
	// SegmentMembers returns a segment's members with profile ids above
	// after, by id.
	SegmentMembers(ctx context.Context, segment string, after int64, limit int) ([]SegmentMember, error)
	// SegmentSizes counts each segment's members.
	SegmentSizes(ctx context.Context) (map[string]int64, error)
	// SegmentCounts returns a segment's size at the end of each day.
	SegmentCounts(ctx context.Context, segment string) ([]SegmentCount, error)
	// SegmentHistory returns membership changes, newest first.
	SegmentHistory(ctx context.Context, q SegmentHistoryQuery) ([]SegmentChange, error)
	// ResetSegments deletes everything the stage derived, and its
	// checkpoint; definitions stay.
	ResetSegments(ctx context.Context, consumer string) error
	// ProfileEvents returns the events on the timelines of the profiles
	// with ids in [from, to], by profile; only the track events named in
	// names when names is not nil (nil: every event).
	ProfileEvents(ctx context.Context, from, to int64, names []string) ([]ProfileEvent, error)
}

// ProfileEvent is an event on a profile's timeline.
type ProfileEvent struct {
	Profile int64
	Event   *event.Event
}

// SegmentRecord is a stored segment definition.
type SegmentRecord struct {
	ID         string    `json:"id"`
	Version    int       `json:"version"`
	Definition []byte    `json:"-"`      // JSON
	Status     string    `json:"status"` // "backfilling", "live", "archived"
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// SegmentBatch is what one batch of events (or of due timers) changed.
type SegmentBatch struct {
	Consumer   string
	Checkpoint int64 // 0: leave the checkpoint alone (timers, backfill)
	States     map[int64][]byte
	// Deleted are profiles whose state goes (merged into another).
	Deleted []int64
	Changes []SegmentChange
	// Timers sets each profile's next timer; a zero time removes it.
	Timers map[int64]time.Time
	// Sizes are the segments' sizes after the batch, for the counts over
	// time (kept per day).
	Sizes map[string]int64
	At    time.Time
}

// SegmentMember is a profile in a segment.
type SegmentMember struct {
	Profile int64     `json:"profile_id"`
	Since   time.Time `json:"since"`
}

// SegmentChange is one entry into or exit from a segment.
type SegmentChange struct {
	ID      int64     `json:"id,omitempty"`
	Segment string    `json:"segment_id"`
	Profile int64     `json:"profile_id"`
	Entered bool      `json:"entered"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"` // "event 123", "time", "merged into 7", "backfill"
}

// SegmentCount is a segment's size on a day.
type SegmentCount struct {
	Day  time.Time `json:"day"`
	Size int64     `json:"size"`
}

// SegmentHistoryQuery selects membership changes.
type SegmentHistoryQuery struct {
	Segment string
	Profile int64
	Before  int64 // changes with id below, for paging
	Limit   int
}
