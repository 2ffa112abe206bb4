package commerce

import (
	"context"
	"time"

	"github.com/parcours/parcours/internal/event"
)

// Effect is what one write changed. Writes passes it to the write's Events
// function, inside the write's transaction.
type Effect struct {
	// Changes are the stock rows the write changed, in lock order.
	Changes []StockChange
	// Reservations are the reservations the write ended (EndReservation,
	// ExpireReservations, UpdateOrder), as they are now.
	Reservations []*Reservation
	// Cart is the cart SaveCart or MergeCart wrote, as written.
	Cart *Cart
}

// Events computes the events a write causes from its Effect. Writes calls
// it after the change, inside the change's transaction, and writes what it
// returns to the store's outbox in that same transaction: the change
// and its events commit or roll back together, so a crash can lose neither
// one without the other. A nil Events writes nothing (imports without
// events); a write that changes nothing (an adjustment applied before, a
// merge of no cart) does not call it.
type Events func(Effect) []*event.Event

// OutboxEntry is an event committed with its change and not yet known to
// be in the event log.
type OutboxEntry struct {
	Seq       int64 // position in the outbox, increasing with each write
	Event     *event.Event
	CreatedAt time.Time // when the change was made (the event's ReceivedAt)
}

// OutboxStore keeps the events of committed changes until the relay has
// appended them to the log.
type OutboxStore interface {
	// Outbox returns up to limit entries, lowest Seq first.
	Outbox(ctx context.Context, limit int) ([]OutboxEntry, error)
	// DeleteOutbox removes entries whose events are in the log. Seqs that
	// are gone already are ignored.
	DeleteOutbox(ctx context.Context, seqs []int64) error
}
