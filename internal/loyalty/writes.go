package loyalty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/problem"
)

// posting is one write to a member's ledger, before the rules ran.
type posting struct {
	Member Member
	Kind   string
	// Points: a credit's points (earn, bonus, adjust up), a debit's
	// points (burn, adjust down: Debit true). A reversal computes its own.
	Points      int64
	Debit       bool
	Cause       string
	Fingerprint string
	OrderID     string
	Reward      string
	Channel     string
	StoreID     string
	Note        string
	Detail      json.RawMessage
	// Returned are a return's quantities per SKU; a reversal without them
	// takes back everything the order still holds (a cancellation).
	Returned map[string]int64
	// TierFloor is a tier_upgrade reward's tier.
	TierFloor string
}

// result is what a posting did.
type result struct {
	Entry    *Entry
	Replayed bool
	Account  Account
}

// post runs the ledger's rules for one posting in tx: the cause is
// looked up first (a replay changes nothing), the member's account is
// locked, lots that have expired lapse, then the posting is applied, the
// tier reviewed, and the events of all of it written to the outbox in the
// same transaction.
func post(ctx context.Context, tx Tx, prog *Programme, now time.Time, p posting) (*result, error) {
	if prior, found, err := tx.EntryByCause(ctx, p.Cause); err != nil {
		return nil, err
	} else if found {
		return replay(prior, p)
	}
	acct, existed, err := tx.LockAccount(ctx, p.Member.ProfileID, now)
	if err != nil {
		return nil, err
	}
	// Another transaction may have written the cause while this one
	// waited for the lock.
	if prior, found, err := tx.EntryByCause(ctx, p.Cause); err != nil {
		return nil, err
	} else if found {
		return replay(prior, p)
	}
	w := &work{tx: tx, prog: prog, now: now, acct: acct, member: p.Member}
	if w.lots, err = tx.Lots(ctx, acct.ProfileID); err != nil {
		return nil, err
	}
	if err := w.lapse(ctx); err != nil {
		return nil, err
	}
	e := &Entry{ProfileID: acct.ProfileID, Kind: p.Kind, Cause: p.Cause, Fingerprint: p.Fingerprint, OrderID: p.OrderID,
		Reward: p.Reward, Channel: p.Channel, StoreID: p.StoreID, Note: p.Note, Detail: p.Detail, At: now}
	switch {
	case p.Kind == KindReverse:
		n, err := w.reversible(ctx, p)
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return &result{Account: w.acct}, nil // nothing of the order is left to take back
		}
		take := min(n, w.acct.Balance)
		if take < n {
			e.Note = joinNote(e.Note, fmt.Sprintf("%d points already spent could not be taken back", n-take))
		}
		w.spend(take, p.OrderID)
		e.Points = -take
	case p.Debit:
		if p.Points <= 0 {
			return nil, problem.Invalid("points", "must be a positive number of points")
		}
		if w.acct.Balance < p.Points {
			return nil, &InsufficientPointsError{Profile: acct.ProfileID, Balance: w.acct.Balance, Request: p.Points}
		}
		w.spend(p.Points, "")
		e.Points = -p.Points
		if p.Kind == KindBurn {
			w.acct.Spent += p.Points
		}
	default:
		if p.Points <= 0 {
			return nil, problem.Invalid("points", "must be a positive number of points")
		}
		e.Points, e.Remaining = p.Points, p.Points
		if d := prog.Expiry.AfterDays; d > 0 {
			e.ExpiresAt = now.AddDate(0, 0, d)
		}
		w.acct.Balance += p.Points
		w.acct.Earned += p.Points
	}
	if p.TierFloor != "" {
		w.acct.TierFloor, w.acct.FloorUntil = p.TierFloor, now.AddDate(0, 0, prog.Tiers.PeriodDays)
	}
	e.Balance = w.acct.Balance
	if err := tx.InsertEntry(ctx, e); err != nil {
		return nil, err
	}
	if e.Remaining > 0 {
		w.lots = append(w.lots, e)
	}
	name := eventNames[p.Kind]
	if !existed && e.Points > 0 {
		w.announce(EventJoined, e, map[string]any{})
	}
	w.announce(name, e, map[string]any{"points": e.Points, "cause": e.Cause, "order_id": e.OrderID, "reward": e.Reward, "note": e.Note})
	if err := w.finish(ctx); err != nil {
		return nil, err
	}
	return &result{Entry: e, Account: w.acct}, nil
}

func replay(prior *Entry, p posting) (*result, error) {
	if p.Fingerprint != "" && prior.Fingerprint != p.Fingerprint {
		return nil, &KeyReuseError{Key: p.Cause, Entry: prior.ID}
	}
	return &result{Entry: prior, Replayed: true}, nil
}

// work is one posting's state inside its transaction.
type work struct {
	tx     Tx
	prog   *Programme
	now    time.Time
	acct   Account
	member Member
	lots   []*Entry
	dirty  map[int64]int64 // lot id → remaining, to write
	events []*event.Event
	last   *Entry // the latest entry announced: the tier change's cause
}

// lapse expires the lots due at now: each gets an expire entry keyed by
// the lot, so that the sweep and a posting cannot both expire it.
func (w *work) lapse(ctx context.Context) error {
	keep := w.lots[:0]
	for _, l := range w.lots {
		if l.ExpiresAt.IsZero() || l.ExpiresAt.After(w.now) {
			keep = append(keep, l)
			continue
		}
		w.acct.Balance -= l.Remaining
		e := &Entry{ProfileID: w.acct.ProfileID, Kind: KindExpire, Points: -l.Remaining, Cause: fmt.Sprintf("expire:%d", l.ID),
			OrderID: l.OrderID, Balance: w.acct.Balance, At: w.now, Note: fmt.Sprintf("earned %s", l.At.Format(time.DateOnly))}
		w.setRemaining(l, 0)
		if err := w.tx.InsertEntry(ctx, e); err != nil {
			return err
		}
		w.announce(EventExpired, e, map[string]any{"points": e.Points, "cause": e.Cause})
	}
	w.lots = keep
	return nil
}

// spend takes n points from the lots: those of order first (a reversal
// takes back the order's own points), then the soonest to expire.
func (w *work) spend(n int64, order string) {
	w.acct.Balance -= n
	take := func(l *Entry) {
		t := min(n, l.Remaining)
		n -= t
		w.setRemaining(l, l.Remaining-t)
	}
	if order != "" {
		for _, l := range w.lots {
			if n > 0 && l.OrderID == order && l.Kind == KindEarn {
				take(l)
			}
		}
	}
	for _, l := range w.lots {
		if n == 0 {
			break
		}
		take(l)
	}
}

func (w *work) setRemaining(l *Entry, r int64) {
	l.Remaining = r
	if w.dirty == nil {
		w.dirty = map[int64]int64{}
	}
	w.dirty[l.ID] = r
}

// reversible is how many points a return or a cancellation takes back:
// the returned lines' points as the order earned them, at most what the
// order still holds on the ledger.
func (w *work) reversible(ctx context.Context, p posting) (int64, error) {
	held, err := w.tx.OrderPoints(ctx, w.acct.ProfileID, p.OrderID)
	if err != nil || held <= 0 {
		return 0, err
	}
	if p.Returned == nil {
		return held, nil
	}
	earned, found, err := w.tx.EntryByCause(ctx, OrderCause(p.OrderID))
	if err != nil || !found {
		return 0, err
	}
	var d orderDetail
	if err := json.Unmarshal(earned.Detail, &d); err != nil {
		return 0, fmt.Errorf("loyalty: order %s: detail of entry %d: %w", p.OrderID, earned.ID, err)
	}
	var n int64
	for _, l := range d.Lines {
		q := p.Returned[l.SKU]
		if q <= 0 || l.Quantity <= 0 {
			continue
		}
		n += l.Points * min(q, l.Quantity) / l.Quantity
	}
	return min(n, held), nil
}

// finish reviews the tier, writes the lots and the account, and the
// events to the outbox.
func (w *work) finish(ctx context.Context) error {
	q, err := w.tx.Qualifying(ctx, w.acct.ProfileID, w.now.AddDate(0, 0, -w.prog.Tiers.PeriodDays))
	if err != nil {
		return err
	}
	tier := w.prog.tierFor(q, w.acct, w.now)
	if tier != w.acct.Tier && w.last != nil {
		from := w.acct.Tier
		w.acct.Tier = tier
		w.announce(EventTierChanged, w.last, map[string]any{"from": from, "to": tier, "direction": w.prog.direction(from, tier)})
	}
	for id, r := range w.dirty {
		if err := w.tx.SetRemaining(ctx, id, r); err != nil {
			return err
		}
	}
	w.acct.UpdatedAt = w.now
	if err := w.tx.WriteAccount(ctx, w.acct); err != nil {
		return err
	}
	snap := w.prog.snapshot(w.acct, q, w.lots, w.now)
	if w.last != nil {
		snap["entry_id"] = w.last.ID
	}
	for _, e := range w.events {
		var props map[string]any
		_ = json.Unmarshal(e.Properties, &props)
		for k, v := range snap {
			props[k] = v
		}
		e.Properties, _ = json.Marshal(props)
	}
	if len(w.events) == 0 {
		return nil
	}
	return w.tx.WriteOutbox(ctx, w.events)
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// isConflict reports a lost race on a unique key.
func isConflict(err error) bool { return errors.Is(err, problem.ErrConflict) }
