package loyalty

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
)

// Entry kinds: every change of a balance is one of them.
const (
	KindEarn    = "earn"    // an order's points
	KindBonus   = "bonus"   // a bonus event's points (review, survey, birthday, referral)
	KindBurn    = "burn"    // a redemption
	KindExpire  = "expire"  // points that lapsed
	KindAdjust  = "adjust"  // a manual correction, either way
	KindReverse = "reverse" // a return or a cancellation taking an order's points back
	KindMerge   = "merge"   // points of a profile merged into this one
)

// Entry is one line of the ledger. Cause is unique across the ledger: the
// write that finds its cause there already changes nothing.
type Entry struct {
	ID        int64  `json:"id"`
	ProfileID int64  `json:"profile_id"`
	Kind      string `json:"kind"`
	// Points is signed: credits are positive, debits negative.
	Points int64  `json:"points"`
	Cause  string `json:"cause"`
	// Fingerprint is the request's, for causes a client chose (an
	// Idempotency-Key): the same key with another request is refused.
	Fingerprint string `json:"-"`
	OrderID     string `json:"order_id,omitempty"`
	Reward      string `json:"reward,omitempty"`
	Channel     string `json:"channel,omitempty"`
	StoreID     string `json:"store_id,omitempty"`
	Note        string `json:"note,omitempty"`
	// Balance is the member's balance after the entry.
	Balance int64     `json:"balance"`
	At      time.Time `json:"at"`
	// ExpiresAt and Remaining make a credit a lot: Remaining are its
	// points not yet spent, expired or reversed; they lapse at ExpiresAt
	// (zero: never).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Remaining int64     `json:"remaining,omitempty"`
	// Detail holds what the rules need later (an order's points per SKU,
	// for its returns), as JSON.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// Account is a member's running state: Balance always equals the sum of
// the Remaining of their lots, and is never negative.
type Account struct {
	ProfileID int64  `json:"profile_id"`
	Balance   int64  `json:"balance"`
	Earned    int64  `json:"earned"` // lifetime credits
	Spent     int64  `json:"spent"`  // lifetime redemptions
	Tier      string `json:"tier,omitempty"`
	// TierFloor is a tier given by a reward (tier_upgrade), kept until
	// FloorUntil whatever the points say.
	TierFloor  string    `json:"tier_floor,omitempty"`
	FloorUntil time.Time `json:"floor_until,omitzero"`
	JoinedAt   time.Time `json:"joined_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Tx is one write transaction, as the ledger's rules see it. A row
// operation decides nothing. LockAccount holds the member's account until
// the transaction ends, so that every write to one member is serialised
// behind it: that lock is what makes two tills unable to spend the same
// points (a row lock on PostgreSQL, the single writer on SQLite).
type Tx interface {
	// LockAccount reads the member's account, creating it empty (found
	// false) at at when there is none, and locks it.
	LockAccount(ctx context.Context, profile int64, at time.Time) (a Account, found bool, err error)
	// WriteAccount writes an account read by LockAccount.
	WriteAccount(ctx context.Context, a Account) error
	// EntryByCause reads the entry of a cause; found false if none.
	EntryByCause(ctx context.Context, cause string) (e *Entry, found bool, err error)
	// InsertEntry stores a new entry and sets its ID; the conflict error
	// (problem.ErrConflict) when its cause is there already.
	InsertEntry(ctx context.Context, e *Entry) error
	// Lots returns the member's lots with points remaining, soonest
	// expiry first (never-expiring last), then oldest.
	Lots(ctx context.Context, profile int64) ([]*Entry, error)
	// SetRemaining writes a lot's remaining points.
	SetRemaining(ctx context.Context, id, remaining int64) error
	// Qualifying sums the member's points that count for tiers (earn,
	// bonus, and the reversals of earnings) since since.
	Qualifying(ctx context.Context, profile int64, since time.Time) (int64, error)
	// OrderPoints sums the points of the entries of an order (its earning,
	// its reversals, and the expiry of its lot) of one member: what a
	// return can still take back.
	OrderPoints(ctx context.Context, profile int64, orderID string) (int64, error)
	// MoveEntries gives every entry of from to into (a profile merge).
	MoveEntries(ctx context.Context, from, into int64) error
	// DeleteAccount deletes an account (merged away).
	DeleteAccount(ctx context.Context, profile int64) error
	// WriteOutbox appends events to the outbox, in their order, for the
	// relay to put in the log (commerce's outbox: one relay for both).
	WriteOutbox(ctx context.Context, evs []*event.Event) error
}

// ProgrammeRecord is a stored programme.
type ProgrammeRecord struct {
	ID         string          `json:"id"`
	Version    int             `json:"version"`
	Definition json.RawMessage `json:"definition"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// EntryQuery selects a member's entries, newest first.
type EntryQuery struct {
	Profile int64
	Before  int64 // entries with ID < Before, for paging
	Limit   int
}

// Liability is what the programme owes: points outstanding and their
// value, members, and the recent flows.
type Liability struct {
	Members         int64 `json:"members"`
	MembersWithPts  int64 `json:"members_with_points"`
	Outstanding     int64 `json:"points_outstanding"`
	EarnedInPeriod  int64 `json:"points_earned"`
	SpentInPeriod   int64 `json:"points_redeemed"`
	ExpiredInPeriod int64 `json:"points_expired"`
	ActiveInPeriod  int64 `json:"active_members"`
}

// Store is what the ledger keeps: the programme, accounts and entries,
// and the transactions its rules write in. store.Store implements it.
type Store interface {
	// LoyaltyTx runs fn in one write transaction: committed when fn
	// returns nil, rolled back otherwise. With shared, an engine may run
	// concurrent calls in one transaction, each in a savepoint of its own
	// (small writes many tills make at once: redemptions); each call
	// returns once the transaction holding its write has committed.
	LoyaltyTx(ctx context.Context, what string, shared bool, fn func(ctx context.Context, tx Tx) error) error
	// SaveLoyaltyProgramme stores a programme, a new version when it
	// changed; changed false when the same definition was there.
	SaveLoyaltyProgramme(ctx context.Context, r *ProgrammeRecord) (changed bool, err error)
	// LoyaltyProgramme returns the stored programme (there is one), or
	// problem.ErrNotFound.
	LoyaltyProgramme(ctx context.Context) (*ProgrammeRecord, error)
	// LoyaltyAccount returns a member's account, or ErrNotFound.
	LoyaltyAccount(ctx context.Context, profile int64) (*Account, error)
	// LoyaltyEntries returns entries, newest first.
	LoyaltyEntries(ctx context.Context, q EntryQuery) ([]*Entry, error)
	// LoyaltyLots returns a member's lots with points remaining, as
	// Tx.Lots, without locking.
	LoyaltyLots(ctx context.Context, profile int64) ([]*Entry, error)
	// LoyaltyQualifying is Tx.Qualifying, without locking.
	LoyaltyQualifying(ctx context.Context, profile int64, since time.Time) (int64, error)
	// LoyaltyEntryByCause returns the entry of a cause, or ErrNotFound.
	LoyaltyEntryByCause(ctx context.Context, cause string) (*Entry, error)
	// DueLots returns up to limit lots with points remaining that expire
	// in [from, to), soonest first, with ids above after.
	DueLots(ctx context.Context, from, to time.Time, after int64, limit int) ([]*Entry, error)
	// LoyaltyTierReviews returns up to limit members, by profile id
	// above after, whose tier may change with time alone: one of their
	// qualifying entries is at in [leftFrom, leftTo) (it left the rolling
	// window), or their tier floor ends in [floorFrom, floorTo).
	LoyaltyTierReviews(ctx context.Context, leftFrom, leftTo, floorFrom, floorTo time.Time, after int64, limit int) ([]int64, error)
	// LoyaltyLiability sums the accounts, and the entries at or after since.
	LoyaltyLiability(ctx context.Context, since time.Time) (*Liability, error)
}

// InsufficientPointsError is a redemption over the balance.
type InsufficientPointsError struct {
	Profile          int64
	Balance, Request int64
}

func (e *InsufficientPointsError) Error() string {
	return fmt.Sprintf("loyalty: member %d has %d points, %d asked: redeem %d at most", e.Profile, e.Balance, e.Request, e.Balance)
}

// Describe reports the balance and the request (409).
func (e *InsufficientPointsError) Describe() problem.Problem {
	return problem.Problem{Kind: problem.KindConflict, Code: "insufficient_points", Message: e.Error(),
		Details: map[string]any{"profile_id": e.Profile, "balance": e.Balance, "requested": e.Request}}
}

// KeyReuseError is an idempotency key sent again with another request.
type KeyReuseError struct {
	Key   string
	Entry int64
}

func (e *KeyReuseError) Error() string {
	return fmt.Sprintf("loyalty: idempotency key %q made entry %d with a different request: a retry must send the same body; a new request needs a new key", problem.Clip(e.Key), e.Entry)
}

// Describe reports the key and the entry it made (422).
func (e *KeyReuseError) Describe() problem.Problem {
	return problem.Problem{Kind: problem.KindMismatch, Code: "idempotency_key_reused", Message: e.Error(),
		Details: map[string]any{"key": e.Key, "entry_id": e.Entry}}
}

// ErrNoProgramme is a ledger write before any programme was applied.
var ErrNoProgramme = problem.New(problem.KindConflict, "no_loyalty_programme",
	"loyalty: no programme: apply one first (parcours apply -f club.yaml, kind: loyalty; docs/loyalty.md)")
