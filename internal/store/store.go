// Package store defines what Parcours keeps and the interfaces to keep it.
// Two engines implement them: sqlite (embedded, the default) and postgres.
// Both pass the same conformance suite (storetest).
package store

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/source"
)

// ErrNotFound is what a missing thing matches: problem.ErrNotFound, the
// same error in every package. The engines return problem.NotFound, which
// names the thing.
var ErrNotFound = problem.ErrNotFound

// ErrConflict is what a write that would break a uniqueness rule, or lost
// a race, matches: problem.ErrConflict.
var ErrConflict = problem.ErrConflict

// EventLog is the append-only log of events, the source of truth every
// downstream part reads in order.
type EventLog interface {
	// Append stores events and rejections in one transaction. An event
	// whose (source, messageId) was seen within the dedup window (or
	// earlier in events) is skipped. On return each event's Seq is set: its
	// position in the log, or 0 for a duplicate. Seq values are assigned in
	// the order of events and are committed in increasing order, so a reader
	// following the log never skips one.
	Append(ctx context.Context, events []*event.Event, rejects []*event.Rejection) error
	// ReadAfter returns up to limit events with Seq > after, in Seq order.
	ReadAfter(ctx context.Context, after int64, limit int) ([]*event.Event, error)
	// ListEvents returns the events q selects, newest or oldest first.
	ListEvents(ctx context.Context, q EventQuery) ([]*event.Event, error)
	// LastSeq returns the highest Seq in the log, 0 when it is empty.
	LastSeq(ctx context.Context) (int64, error)
	// PruneDedup forgets the dedup keys of events received before t.
	PruneDedup(ctx context.Context, before time.Time) (int64, error)
	// ListRejections returns the rejections q selects, newest first.
	ListRejections(ctx context.Context, q RejectionQuery) ([]*event.Rejection, error)
}

// Sources keeps the touchpoints and their write keys.
type Sources interface {
	CreateSource(ctx context.Context, s *source.Source) error
	// Source finds a source by id or by exact name.
	Source(ctx context.Context, idOrName string) (*source.Source, error)
	SourceByWriteKey(ctx context.Context, key string) (*source.Source, error)
	ListSources(ctx context.Context) ([]*source.Source, error)
	DisableSource(ctx context.Context, id string, at time.Time) error
}

// Checkpoints remembers how far each consumer of the event log has read.
type Checkpoints interface {
	// Checkpoint returns the last Seq the consumer has processed, 0 if none.
	Checkpoint(ctx context.Context, consumer string) (int64, error)
	SaveCheckpoint(ctx context.Context, consumer string, seq int64) error
}

// AdminKeys keeps the hashes of the management API's admin keys.
type AdminKeys interface {
	HasAdminKey(ctx context.Context) (bool, error)
	AddAdminKey(ctx context.Context, hash string, at time.Time) error
	IsAdminKey(ctx context.Context, hash string) (bool, error)
}

// Store is everything an engine provides.
type Store interface {
	EventLog
	Sources
	Checkpoints
	AdminKeys
	Access
	RequestKeys
	Profiles
	Segments
	Commerce
	Messages
	Journeys
	JourneyDateTimers
	Tasks
	Surveys
	Conversations
	MeasureRollups
	MeasureReports
	Privacy
	Loyalty
	// Migrate applies the schema migrations not applied yet.
	Migrate(ctx context.Context) error
	Ping(ctx context.Context) error
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	Close() error
}

// EventQuery selects events for listing. Zero fields do not filter.
type EventQuery struct {
	UserID      string
	AnonymousID string
	// Identifier matches either the user id or the anonymous id.
	Identifier string
	Type       event.Type
	Event      string // the track event name
	SourceID   string
	// Since and Until bound the event time: Since <= timestamp < Until.
	Since, Until time.Time
	// Before and After bound Seq (exclusive), for paging.
	Before, After int64
	// Ascending lists oldest first; the default is newest first.
	Ascending bool
	Limit     int
}

// RejectionQuery selects rejections for listing, newest first.
type RejectionQuery struct {
	SourceID string
	Code     string
	Before   int64 // rejections with ID < Before, for paging
	Limit    int
}

// DedupKey is the key duplicates are recognised by.
type DedupKey struct{ SourceID, MessageID string }

// FirstOccurrences returns the events of batch whose dedup key appears for the
// first time in it, and marks the later ones as duplicates (Seq 0). Engines
// that insert a batch in one statement need the batch free of duplicates.
func FirstOccurrences(batch []*event.Event) []*event.Event {
	seen := make(map[DedupKey]struct{}, len(batch))
	out := batch[:0:0]
	for _, e := range batch {
		k := DedupKey{e.SourceID, e.MessageID}
		if _, dup := seen[k]; dup {
			e.Seq = 0
			continue
		}
		seen[k] = struct{}{}
		out = append(out, e)
	}
	return out
}
