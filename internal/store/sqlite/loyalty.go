package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/loyalty"
	"github.com/parcours/parcours/internal/problem"
	"github.com/parcours/parcours/internal/store"
)

// The ledger's rules live in the loyalty package; this engine gives them
// transactions and row operations. Its lock is the single writer: an
// account read inside a write transaction cannot change before the
// transaction commits, so LockAccount is a plain read (of the writer's
// connection), and redemptions are serialised without waiting on rows.

// loyaltyTx is a write transaction, as loyalty.Tx. Its statements are
// the writer's kept ones (prepared once, warmed before the first
// transaction): parsing the SQL again in every redemption was a seventh
// of its CPU.
type loyaltyTx struct {
	tx *sql.Tx
	w  *db
}

// loyaltyQueries are the statements a ledger transaction runs.
var loyaltyQueries = []string{"create-loyalty-account", "loyalty-account", "write-loyalty-account", "delete-loyalty-account",
	"insert-loyalty-entry", "loyalty-entry-by-cause", "loyalty-lots", "set-loyalty-remaining", "loyalty-qualifying",
	"loyalty-order-points", "move-loyalty-entries", "insert-outbox"}

func (c loyaltyTx) stmt(ctx context.Context, name string) (*sql.Stmt, error) {
	return c.w.txStmt(ctx, c.tx, queries.Get(name))
}

func (c loyaltyTx) exec(ctx context.Context, name string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, name)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (c loyaltyTx) queryRow(ctx context.Context, name string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, name)
	if err != nil {
		return c.tx.QueryRowContext(ctx, queries.Get(name), args...) // reports the error
	}
	return st.QueryRowContext(ctx, args...)
}

func (c loyaltyTx) query(ctx context.Context, name string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, name)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// warmLoyalty prepares the ledger's statements on the writer, once, outside
// any transaction (a kept statement is never prepared inside one: the
// transaction holds the writer's only connection).
func (s *Store) warmLoyalty(ctx context.Context) {
	s.loyaltyWarm.Do(func() {
		for _, q := range loyaltyQueries {
			s.w.stmt(ctx, queries.Get(q))
		}
	})
}

var _ loyalty.Tx = loyaltyTx{}

// LoyaltyTx runs fn in a write transaction; shared ones run in the group
// transaction (groupTx), each in its savepoint: concurrent redemptions
// share one commit, one fsync.
func (s *Store) LoyaltyTx(ctx context.Context, what string, shared bool, fn func(context.Context, loyalty.Tx) error) error {
	s.warmLoyalty(ctx)
	if !shared {
		return s.inTx(ctx, "loyalty: "+what, func(tx *sql.Tx) error { return fn(ctx, loyaltyTx{tx, s.w}) })
	}
	err := s.group.do(ctx, s, func(tx *sql.Tx) error {
		// Not cancellable once started: SQLite rolls back the whole
		// (shared) transaction when a write statement is interrupted.
		return fn(context.WithoutCancel(ctx), loyaltyTx{tx, s.w})
	})
	return store.TxError("sqlite", "loyalty: "+what, err)
}

func (c loyaltyTx) LockAccount(ctx context.Context, profile int64, at time.Time) (loyalty.Account, bool, error) {
	res, err := c.exec(ctx, "create-loyalty-account", profile, micros(at))
	if err != nil {
		return loyalty.Account{}, false, err
	}
	n, _ := res.RowsAffected()
	a, err := scanAccount(c.queryRow(ctx, "loyalty-account", profile))
	if err != nil {
		return loyalty.Account{}, false, err
	}
	return *a, n == 0, nil
}

func (c loyaltyTx) WriteAccount(ctx context.Context, a loyalty.Account) error {
	_, err := c.exec(ctx, "write-loyalty-account", a.ProfileID, a.Balance, a.Earned, a.Spent, a.Tier,
		a.TierFloor, zeroMicros(a.FloorUntil), micros(a.JoinedAt), micros(a.UpdatedAt))
	return err
}

func (c loyaltyTx) EntryByCause(ctx context.Context, cause string) (*loyalty.Entry, bool, error) {
	e, err := scanEntry(c.queryRow(ctx, "loyalty-entry-by-cause", cause))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return e, err == nil, err
}

func (c loyaltyTx) InsertEntry(ctx context.Context, e *loyalty.Entry) error {
	err := c.queryRow(ctx, "insert-loyalty-entry", e.ProfileID, e.Kind, e.Points, e.Cause, e.Fingerprint,
		e.OrderID, e.Reward, e.Channel, e.StoreID, e.Note, e.Balance, micros(e.At), zeroMicros(e.ExpiresAt), e.Remaining,
		string(e.Detail)).Scan(&e.ID)
	return conflictOr(err)
}

func (c loyaltyTx) Lots(ctx context.Context, profile int64) ([]*loyalty.Entry, error) {
	return entries(c.query(ctx, "loyalty-lots", profile))
}

func (c loyaltyTx) SetRemaining(ctx context.Context, id, remaining int64) error {
	_, err := c.exec(ctx, "set-loyalty-remaining", remaining, id)
	return err
}

func (c loyaltyTx) Qualifying(ctx context.Context, profile int64, since time.Time) (int64, error) {
	var n int64
	err := c.queryRow(ctx, "loyalty-qualifying", profile, micros(since)).Scan(&n)
	return n, err
}

func (c loyaltyTx) OrderPoints(ctx context.Context, profile int64, orderID string) (int64, error) {
	var n int64
	err := c.queryRow(ctx, "loyalty-order-points", profile, orderID).Scan(&n)
	return n, err
}

func (c loyaltyTx) MoveEntries(ctx context.Context, from, into int64) error {
	_, err := c.exec(ctx, "move-loyalty-entries", from, into)
	return err
}

func (c loyaltyTx) DeleteAccount(ctx context.Context, profile int64) error {
	_, err := c.exec(ctx, "delete-loyalty-account", profile)
	return err
}

// WriteOutbox inserts events into commerce's outbox, as
// commerceTx.WriteOutbox, with the kept statement.
func (c loyaltyTx) WriteOutbox(ctx context.Context, evs []*event.Event) error {
	for _, e := range evs {
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("outbox: event %s: %w", e.MessageID, err)
		}
		if _, err := c.exec(ctx, "insert-outbox", e.MessageID, body, micros(e.ReceivedAt)); err != nil {
			return fmt.Errorf("outbox: event %s: %w", e.MessageID, err)
		}
	}
	return nil
}

// SaveLoyaltyProgramme stores a new version of the programme, unless the
// one in force has the same definition.
func (s *Store) SaveLoyaltyProgramme(ctx context.Context, r *loyalty.ProgrammeRecord) (bool, error) {
	var changed bool
	err := s.inTx(ctx, "save loyalty programme", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, queries.Get("insert-loyalty-programme"), r.ID, string(r.Definition), micros(r.UpdatedAt))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		changed = n > 0
		got, err := scanProgramme(tx.QueryRowContext(ctx, queries.Get("loyalty-programme")))
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
	r, err := scanProgramme(s.r.QueryRowContext(ctx, queries.Get("loyalty-programme")))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("loyalty programme", "")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: loyalty programme: %w", err)
	}
	return r, nil
}

func scanProgramme(sc interface{ Scan(...any) error }) (*loyalty.ProgrammeRecord, error) {
	var r loyalty.ProgrammeRecord
	var def string
	var at int64
	if err := sc.Scan(&r.ID, &r.Version, &def, &at); err != nil {
		return nil, err
	}
	r.Definition, r.UpdatedAt = []byte(def), fromMicros(at)
	return &r, nil
}

// LoyaltyAccount returns a member's account.
func (s *Store) LoyaltyAccount(ctx context.Context, profile int64) (*loyalty.Account, error) {
	a, err := scanAccount(s.r.QueryRowContext(ctx, queries.Get("loyalty-account"), profile))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("loyalty account", profile)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: loyalty account %d: %w", profile, err)
	}
	return a, nil
}

// LoyaltyEntries returns a member's entries, newest first.
func (s *Store) LoyaltyEntries(ctx context.Context, q loyalty.EntryQuery) ([]*loyalty.Entry, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	out, err := entries(s.r.QueryContext(ctx, queries.Get("loyalty-entries"), q.Profile, q.Before, q.Limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: loyalty entries of %d: %w", q.Profile, err)
	}
	return out, nil
}

// LoyaltyLots returns a member's open lots.
func (s *Store) LoyaltyLots(ctx context.Context, profile int64) ([]*loyalty.Entry, error) {
	out, err := entries(s.r.QueryContext(ctx, queries.Get("loyalty-lots"), profile))
	if err != nil {
		return nil, fmt.Errorf("sqlite: loyalty lots of %d: %w", profile, err)
	}
	return out, nil
}

// LoyaltyQualifying sums a member's qualifying points since since.
func (s *Store) LoyaltyQualifying(ctx context.Context, profile int64, since time.Time) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, queries.Get("loyalty-qualifying"), profile, micros(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: loyalty qualifying points of %d: %w", profile, err)
	}
	return n, nil
}

// LoyaltyEntryByCause returns the entry of a cause.
func (s *Store) LoyaltyEntryByCause(ctx context.Context, cause string) (*loyalty.Entry, error) {
	e, err := scanEntry(s.r.QueryRowContext(ctx, queries.Get("loyalty-entry-by-cause"), cause))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, problem.NotFound("loyalty entry", cause)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: loyalty entry %s: %w", cause, err)
	}
	return e, nil
}

// DueLots returns lots expiring in [from, to).
func (s *Store) DueLots(ctx context.Context, from, to time.Time, after int64, limit int) ([]*loyalty.Entry, error) {
	out, err := entries(s.r.QueryContext(ctx, queries.Get("loyalty-due-lots"), micros(from), micros(to), after, limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: due loyalty lots: %w", err)
	}
	return out, nil
}

// LoyaltyTierReviews returns members whose tier may change with time
// alone: a qualifying entry at in [leftFrom, leftTo), or a tier floor
// ending in [floorFrom, floorTo); by profile id above after.
func (s *Store) LoyaltyTierReviews(ctx context.Context, leftFrom, leftTo, floorFrom, floorTo time.Time, after int64, limit int) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, queries.Get("loyalty-tier-reviews"), micros(leftFrom), micros(leftTo),
		micros(floorFrom), micros(floorTo), after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: loyalty tier reviews: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: loyalty tier reviews: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: loyalty tier reviews: %w", err)
	}
	return out, nil
}

// LoyaltyLiability sums the accounts and the entries since since.
func (s *Store) LoyaltyLiability(ctx context.Context, since time.Time) (*loyalty.Liability, error) {
	var l loyalty.Liability
	if err := s.r.QueryRowContext(ctx, queries.Get("loyalty-liability-accounts")).Scan(&l.Members, &l.MembersWithPts, &l.Outstanding); err != nil {
		return nil, fmt.Errorf("sqlite: loyalty liability: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, queries.Get("loyalty-liability-flows"), micros(since)).Scan(&l.EarnedInPeriod, &l.SpentInPeriod,
		&l.ExpiredInPeriod, &l.ActiveInPeriod); err != nil {
		return nil, fmt.Errorf("sqlite: loyalty liability: %w", err)
	}
	return &l, nil
}

func scanAccount(sc interface{ Scan(...any) error }) (*loyalty.Account, error) {
	var a loyalty.Account
	var floor, joined, updated int64
	if err := sc.Scan(&a.ProfileID, &a.Balance, &a.Earned, &a.Spent, &a.Tier, &a.TierFloor, &floor, &joined, &updated); err != nil {
		return nil, err
	}
	a.FloorUntil, a.JoinedAt, a.UpdatedAt = fromZeroMicros(floor), fromMicros(joined), fromMicros(updated)
	return &a, nil
}

func scanEntry(sc interface{ Scan(...any) error }) (*loyalty.Entry, error) {
	var e loyalty.Entry
	var at, expires int64
	var detail string
	if err := sc.Scan(&e.ID, &e.ProfileID, &e.Kind, &e.Points, &e.Cause, &e.Fingerprint, &e.OrderID, &e.Reward, &e.Channel,
		&e.StoreID, &e.Note, &e.Balance, &at, &expires, &e.Remaining, &detail); err != nil {
		return nil, err
	}
	e.At, e.ExpiresAt = fromMicros(at), fromZeroMicros(expires)
	if detail != "" {
		e.Detail = []byte(detail)
	}
	return &e, nil
}

func entries(rows *sql.Rows, err error) ([]*loyalty.Entry, error) {
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
