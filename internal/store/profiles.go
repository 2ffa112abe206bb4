package store

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
)

// Profiles keeps what the unify stage derives from the event log: the
// identity graph, the profiles, their timelines, the merge log. All of it
// can be rebuilt by replaying the log (ResetUnify, then the consumer again).
type Profiles interface {
	// Holders returns, for each identifier held by a profile, its holder.
	Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error)
	// LoadProfiles returns the live profiles among ids.
	LoadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, error)
	// ApplyUnify writes one processed batch, with the consumer's
	// checkpoint, in one transaction.
	ApplyUnify(ctx context.Context, b *UnifyBatch) error
	// Profile returns a profile by id. A merged profile is followed to the
	// one it was merged into: the returned profile's ID says which.
	Profile(ctx context.Context, id int64) (*profile.Profile, error)
	// Timeline returns a profile's events, newest first by event time.
	Timeline(ctx context.Context, q TimelineQuery) ([]*event.Event, error)
	// ProfileSeqs returns the sequence numbers of every event on a
	// profile's timeline, in log order.
	ProfileSeqs(ctx context.Context, profileID int64) ([]int64, error)
	// MergeLog returns the merges into and of a profile, oldest first.
	MergeLog(ctx context.Context, profileID int64) ([]MergeRecord, error)
	// Refusals returns the identifiers a profile was refused, newest first.
	Refusals(ctx context.Context, profileID int64, limit int) ([]RefusalRecord, error)
	// ResetUnify deletes everything unify derived, and its checkpoint.
	ResetUnify(ctx context.Context, consumer string) error
	// ForgetProfile deletes a profile and everything derived for it (its
	// identifiers, timeline rows), before it is rebuilt (unmerge).
	ForgetProfile(ctx context.Context, profileID int64) error
	// AddExclusion records that an event must not link an identifier
	// (unmerge), and Exclusions lists them.
	AddExclusion(ctx context.Context, x Exclusion) error
	Exclusions(ctx context.Context) ([]Exclusion, error)
	// RFMInputs lists what RFM scoring needs of every profile with orders;
	// SaveRFM stores a scoring.
	RFMInputs(ctx context.Context) ([]profile.RFMInput, error)
	SaveRFM(ctx context.Context, r *profile.RFM) error
	LoadRFM(ctx context.Context) (*profile.RFM, error)
	// ProfileCount counts live profiles.
	ProfileCount(ctx context.Context) (int64, error)
	// ListProfiles returns up to limit live profiles with ids above after,
	// by id.
	ListProfiles(ctx context.Context, after int64, limit int) ([]*profile.Profile, error)
}

// UnifyBatch is everything one batch of events changed.
type UnifyBatch struct {
	Consumer   string
	Checkpoint int64
	// Merged are applied first, in order: each profile's identifiers and
	// timeline move to Into, and it is marked merged.
	Merged   []MergedProfile
	Profiles []*profile.Profile // live profiles to write whole
	Links    []Link
	Timeline []TimelineEntry
	Merges   []MergeRecord
	Refusals []RefusalRecord
}

// MergedProfile is a profile merged into another.
type MergedProfile struct{ ID, Into int64 }

// Link attaches an identifier to a profile.
type Link struct {
	Identifier identity.Identifier
	Profile    int64
}

// TimelineEntry puts an event on a profile's timeline.
type TimelineEntry struct {
	Profile int64
	Seq     int64
	At      time.Time
}

// MergeRecord is one line of the append-only merge log.
type MergeRecord struct {
	ID          int64                 `json:"id"`
	At          time.Time             `json:"at"`        // the event time of the merging event
	EventSeq    int64                 `json:"event_seq"` // the event that merged them
	Profile     int64                 `json:"profile_id"`
	Merged      int64                 `json:"merged_profile_id"`
	Identifiers []identity.Identifier `json:"identifiers"` // the event's identifiers that linked them
	UndoneAt    time.Time             `json:"undone_at,omitzero"`
}

// RefusalRecord is an identifier left unlinked, and why.
type RefusalRecord struct {
	ID         int64               `json:"id"`
	At         time.Time           `json:"at"`
	EventSeq   int64               `json:"event_seq"`
	Profile    int64               `json:"profile_id"`
	Identifier identity.Identifier `json:"identifier"`
	Holder     int64               `json:"holder,omitempty"`
	Reason     string              `json:"reason"`
}

// Exclusion stops one event from linking one identifier.
type Exclusion struct {
	EventSeq   int64               `json:"event_seq"`
	Identifier identity.Identifier `json:"identifier"`
}

// TimelineQuery selects a profile's events.
type TimelineQuery struct {
	Profile  int64
	Type     event.Type
	Event    string
	Channel  string
	SourceID string
	Since    time.Time
	Until    time.Time
	// Before pages: events strictly before (At, Seq) in timeline order.
	BeforeAt  time.Time
	BeforeSeq int64
	Limit     int
}
