package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/loyalty"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// The ledger's rules live in the loyalty package; this engine gives them
// transactions and row operations. LockAccount is SELECT ... FOR UPDATE
// on the member's account row: every write to one member waits there for
// the one before it to commit, and then reads the balance it left, so
// that two tills can never spend the same points. Merges lock two
// accounts in id order.

// loyaltyTx is a write transaction, as loyalty.Tx.
type loyaltyTx struct{ tx pgx.Tx }

var _ loyalty.Tx = loyaltyTx{}

// LoyaltyTx runs fn in a transaction: PostgreSQL commits concurrent
// transactions together by itself, so shared changes nothing.
func (s *Store) LoyaltyTx(ctx context.Context, what string, _ bool, fn func(context.Context, loyalty.Tx) error) error {
	return s.inTx(ctx, "loyalty: "+what, func(tx pgx.Tx) error { return fn(ctx, loyaltyTx{tx}) })
}

func (c loyaltyTx) LockAccount(ctx context.Context, profile int64, at time.Time) (loyalty.Account, bool, error) {
	tag, err := c.tx.Exec(ctx, queries.Get("create-loyalty-account"), profile, at)
	if err != nil {
		return loyalty.Account{}, false, err
	}
	a, err := scanAccount(c.tx.QueryRow(ctx, queries.Get("lock-loyalty-account"), profile))
	if err != nil {
		return loyalty.Account{}, false, err
	}
	return *a, tag.RowsAffected() == 0, nil
}

func (c loyaltyTx) WriteAccount(ctx context.Context, a loyalty.Account) error {
	_, err := c.tx.Exec(ctx, queries.Get("write-loyalty-account"), a.ProfileID, a.Balance, a.Earned, a.Spent, a.Tier,
		a.TierFloor, nullTimestamp(a.FloorUntil), a.JoinedAt, a.UpdatedAt)
	return err
}

func (c loyaltyTx) EntryByCause(ctx context.Context, cause string) (*loyalty.Entry, bool, error) {
	e, err := scanEntry(c.tx.QueryRow(ctx, queries.Get("loyalty-entry-by-cause"), cause))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return e, err == nil, err
}

// InsertEntry stores an entry. A cause being written by a concurrent
// transaction that then commits is a conflict too.
func (c loyaltyTx) InsertEntry(ctx context.Context, e *loyalty.Entry) error {
	err := c.tx.QueryRow(ctx, queries.Get("insert-loyalty-entry"), e.ProfileID, e.Kind, e.Points, e.Cause, e.Fingerprint,
		e.OrderID, e.Reward, e.Channel, e.StoreID, e.Note, e.Balance, e.At, nullTimestamp(e.ExpiresAt), e.Remaining,
		string(e.Detail)).Scan(&e.ID)
	return conflictOr(err)
}

func (c loyaltyTx) Lots(ctx context.Context, profile int64) ([]*loyalty.Entry, error) {
	return entries(c.tx.Query(ctx, queries.Get("loyalty-lots"), profile))
}

func (c loyaltyTx) SetRemaining(ctx context.Context, id, remaining int64) error {
	_, err := c.tx.Exec(ctx, queries.Get("set-loyalty-remaining"), remaining, id)
	return err
}

func (c loyaltyTx) Qualifying(ctx context.Context, profile int64, since time.Time) (int64, error) {
	var n int64
	err := c.tx.QueryRow(ctx, queries.Get("loyalty-qualifying"), profile, since).Scan(&n)
	return n, err
}

func (c loyaltyTx) OrderPoints(ctx context.Context, profile int64, orderID string) (int64, error) {
	var n int64
	err := c.tx.QueryRow(ctx, queries.Get("loyalty-order-points"), profile, orderID).Scan(&n)
	return n, err
}

func (c loyaltyTx) MoveEntries(ctx context.Context, from, into int64) error {
	_, err := c.tx.Exec(ctx, queries.Get("move-loyalty-entries"), from, into)
	return err
}

func (c loyaltyTx) DeleteAccount(ctx context.Context, profile int64) error {
	_, err := c.tx.Exec(ctx, queries.Get("delete-loyalty-account"), profile)
	return err
}

func (c loyaltyTx) WriteOutbox(ctx context.Context, evs []*event.Event) error {
	return commerceTx(c).WriteOutbox(ctx, evs)
}

// SaveLoyaltyProgramme stores a new version of the programme, unless the
// one in force has the same definition.
func (s *Store) SaveLoyaltyProgramme(ctx context.Context, r *loyalty.ProgrammeRecord) (bool, error) {
	var changed bool
	err := s.inTx(ctx, "save loyalty programme", func(tx pgx.Tx) error {
		// One writer of versions at a time: two applies at once would
		// both take the next version.
		if _, err := tx.Exec(ctx, "LOCK TABLE loyalty_programmes IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, queries.Get("insert-loyalty-programme"), r.ID, string(r.Definition), r.UpdatedAt)
		if err != nil {
			return err
		}
		changed = tag.RowsAffected() > 0
		got, err := scanProgramme(tx.QueryRow(ctx, queries.Get("loyalty-programme")))
		if err != nil {
			return err
		}
		*r = *got
		return nil
	})
	return changed, err
}

// LoyaltyProgramme returns the programme in force.
func (s *Store) LoyaltyProgramme(ctx context.Context) (*loyalty.ProgrammeRecord, error) {
	r, err := scanProgramme(s.pool.QueryRow(ctx, queries.Get("loyalty-programme")))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("loyalty programme", "")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: loyalty programme: %w", err)
	}
	return r, nil
}

func scanProgramme(row pgx.Row) (*loyalty.ProgrammeRecord, error) {
	var r loyalty.ProgrammeRecord
	var def string
	if err := row.Scan(&r.ID, &r.Version, &def, &r.UpdatedAt); err != nil {
		return nil, err
	}
	r.Definition, r.UpdatedAt = []byte(def), r.UpdatedAt.UTC()
	return &r, nil
}

// LoyaltyAccount returns a member's account.
func (s *Store) LoyaltyAccount(ctx context.Context, profile int64) (*loyalty.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, queries.Get("loyalty-account"), profile))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("loyalty account", profile)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: loyalty account %d: %w", profile, err)
	}
	return a, nil
}

// LoyaltyEntries returns a member's entries, newest first.
func (s *Store) LoyaltyEntries(ctx context.Context, q loyalty.EntryQuery) ([]*loyalty.Entry, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	out, err := entries(s.pool.Query(ctx, queries.Get("loyalty-entries"), q.Profile, q.Before, q.Limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: loyalty entries of %d: %w", q.Profile, err)
	}
	return out, nil
}

// LoyaltyLots returns a member's open lots.
func (s *Store) LoyaltyLots(ctx context.Context, profile int64) ([]*loyalty.Entry, error) {
	out, err := entries(s.pool.Query(ctx, queries.Get("loyalty-lots"), profile))
	if err != nil {
		return nil, fmt.Errorf("postgres: loyalty lots of %d: %w", profile, err)
	}
	return out, nil
}

// LoyaltyQualifying sums a member's qualifying points since since.
func (s *Store) LoyaltyQualifying(ctx context.Context, profile int64, since time.Time) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, queries.Get("loyalty-qualifying"), profile, since).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: loyalty qualifying points of %d: %w", profile, err)
	}
	return n, nil
}

// LoyaltyEntryByCause returns the entry of a cause.
func (s *Store) LoyaltyEntryByCause(ctx context.Context, cause string) (*loyalty.Entry, error) {
	e, err := scanEntry(s.pool.QueryRow(ctx, queries.Get("loyalty-entry-by-cause"), cause))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, problem.NotFound("loyalty entry", cause)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: loyalty entry %s: %w", cause, err)
	}
	return e, nil
}

// DueLots returns lots expiring in [from, to).
func (s *Store) DueLots(ctx context.Context, from, to time.Time, after int64, limit int) ([]*loyalty.Entry, error) {
	out, err := entries(s.pool.Query(ctx, queries.Get("loyalty-due-lots"), from, to, after, limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: due loyalty lots: %w", err)
	}
	return out, nil
}

// LoyaltyTierReviews returns members whose tier may change with time
// alone: a qualifying entry at in [leftFrom, leftTo), or a tier floor
// ending in [floorFrom, floorTo); by profile id above after.
func (s *Store) LoyaltyTierReviews(ctx context.Context, leftFrom, leftTo, floorFrom, floorTo time.Time, after int64, limit int) ([]int64, error) {
	rows, err := s.pool.Query(ctx, queries.Get("loyalty-tier-reviews"), leftFrom, leftTo, floorFrom, floorTo, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: loyalty tier reviews: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("postgres: loyalty tier reviews: %w", err)
	}
	return out, nil
}

// LoyaltyLiability sums the accounts and the entries since since.
func (s *Store) LoyaltyLiability(ctx context.Context, since time.Time) (*loyalty.Liability, error) {
	var l loyalty.Liability
	if err := s.pool.QueryRow(ctx, queries.Get("loyalty-liability-accounts")).Scan(&l.Members, &l.MembersWithPts, &l.Outstanding); err != nil {
		return nil, fmt.Errorf("postgres: loyalty liability: %w", err)
	}
	if err := s.pool.QueryRow(ctx, queries.Get("loyalty-liability-flows"), since).Scan(&l.EarnedInPeriod, &l.SpentInPeriod,
		&l.ExpiredInPeriod, &l.ActiveInPeriod); err != nil {
		return nil, fmt.Errorf("postgres: loyalty liability: %w", err)
	}
	return &l, nil
}

func scanAccount(row pgx.Row) (*loyalty.Account, error) {
	var a loyalty.Account
	var floor *time.Time
	if err := row.Scan(&a.ProfileID, &a.Balance, &a.Earned, &a.Spent, &a.Tier, &a.TierFloor, &floor, &a.JoinedAt, &a.UpdatedAt); err != nil {
		return nil, err
	}
	if floor != nil {
		a.FloorUntil = floor.UTC()
	}
	a.JoinedAt, a.UpdatedAt = a.JoinedAt.UTC(), a.UpdatedAt.UTC()
	return &a, nil
}

func scanEntry(row pgx.Row) (*loyalty.Entry, error) {
	var e loyalty.Entry
	var expires *time.Time
	var detail string
	if err := row.Scan(&e.ID, &e.ProfileID, &e.Kind, &e.Points, &e.Cause, &e.Fingerprint, &e.OrderID, &e.Reward, &e.Channel,
		&e.StoreID, &e.Note, &e.Balance, &e.At, &expires, &e.Remaining, &detail); err != nil {
		return nil, err
	}
	e.At = e.At.UTC()
	if expires != nil {
		e.ExpiresAt = expires.UTC()
	}
	if detail != "" {
		e.Detail = []byte(detail)
	}
	return &e, nil
}

func entries(rows pgx.Rows, err error) ([]*loyalty.Entry, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*loyalty.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

var _ store.Loyalty = (*Store)(nil)
