package loyalty

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// KindNotice is an entry of no points that records an announcement (the
// points of a lot about to expire), so that it is made once.
const KindNotice = "notice"

// KindTier is an entry of no points that records a tier the sweep
// changed with time alone (qualifying points left the rolling window, a
// reward's tier floor ended): the member's statement shows why the tier
// moved, and the change is announced once.
const KindTier = "tier"

// tierLookback is how far back the first sweep after a start looks for
// qualifying points that left the window while no sweep ran: a server
// stopped for longer reviews the older ones at the member's next write.
const tierLookback = 7 * 24 * time.Hour

// touch runs fn on a member's account in tx, after the cause check (a
// cause found: nothing happens), the lock and the lapse of expired lots,
// and finishes (tier, lots, account, events). fn may be nil: the lapse
// alone.
func touch(ctx context.Context, tx Tx, prog *Programme, now time.Time, m Member, cause string, fn func(w *work) error) error {
	if cause != "" {
		if _, found, err := tx.EntryByCause(ctx, cause); err != nil || found {
			return err
		}
	}
	acct, _, err := tx.LockAccount(ctx, m.ProfileID, now)
	if err != nil {
		return err
	}
	w := &work{tx: tx, prog: prog, now: now, acct: acct, member: m}
	if w.lots, err = tx.Lots(ctx, acct.ProfileID); err != nil {
		return err
	}
	if err := w.lapse(ctx); err != nil {
		return err
	}
	if fn != nil {
		if err := fn(w); err != nil {
			return err
		}
	}
	return w.finish(ctx)
}

// Merge gives the account of profile from to profile into (unify merged
// them): entries, balance and lots move, once (keyed by the pair).
func (s *Service) Merge(ctx context.Context, from, into int64) error {
	prog, err := s.Programme(ctx)
	if err != nil {
		return err
	}
	now := s.o.Clock.Now()
	m := s.member(ctx, into)
	cause := fmt.Sprintf("merge:%d:%d", from, into)
	err = s.st.LoyaltyTx(ctx, "merge", false, func(ctx context.Context, tx Tx) error {
		if _, found, err := tx.EntryByCause(ctx, cause); err != nil || found {
			return err
		}
		// Two accounts: locked in id order, so that two merges never wait
		// on each other in a cycle.
		lo, hi := min(from, into), max(from, into)
		a, aFound, err := tx.LockAccount(ctx, lo, now)
		if err != nil {
			return err
		}
		b, bFound, err := tx.LockAccount(ctx, hi, now)
		if err != nil {
			return err
		}
		src, srcFound, dstFound := a, aFound, bFound
		if lo != from {
			src, srcFound, dstFound = b, bFound, aFound
		}
		if !srcFound {
			if err := tx.DeleteAccount(ctx, from); err != nil {
				return err
			}
			if !dstFound {
				return tx.DeleteAccount(ctx, into)
			}
			return nil
		}
		if err := tx.MoveEntries(ctx, from, into); err != nil {
			return err
		}
		if err := tx.DeleteAccount(ctx, from); err != nil {
			return err
		}
		return touch(ctx, tx, prog, now, m, "", func(w *work) error {
			w.acct.Balance += src.Balance
			w.acct.Earned += src.Earned
			w.acct.Spent += src.Spent
			if !dstFound || src.JoinedAt.Before(w.acct.JoinedAt) {
				w.acct.JoinedAt = src.JoinedAt
			}
			if prog.rank(src.TierFloor) > prog.rank(w.acct.TierFloor) {
				w.acct.TierFloor, w.acct.FloorUntil = src.TierFloor, src.FloorUntil
			}
			if w.acct.Tier == "" {
				w.acct.Tier = src.Tier
			}
			e := &Entry{ProfileID: into, Kind: KindMerge, Cause: cause, Balance: w.acct.Balance, At: now,
				Note: fmt.Sprintf("account of profile %d merged in: %d points", from, src.Balance)}
			if err := tx.InsertEntry(ctx, e); err != nil {
				return err
			}
			w.announce(EventMerged, e, map[string]any{"points": src.Balance, "mergedProfileId": from})
			return nil
		})
	})
	if err == nil {
		s.kick()
	}
	return err
}

// member returns the member of a profile id, with its identifiers when
// the profiles can be read.
func (s *Service) member(ctx context.Context, id int64) Member {
	if s.o.Profiles != nil {
		if p, err := s.o.Profiles.Profile(ctx, id); err == nil && p.ID == id {
			return MemberOf(p)
		}
	}
	return Member{ProfileID: id}
}

// sweepBatch is how many lots one read of the sweep takes.
const sweepBatch = 500

// Sweep expires the lots due by now and announces, once per lot, the
// points that expire within the programme's warn_days (Loyalty Points
// Expiring: the journeys' "your points expire in 30 days"). It returns
// how many lots each did.
func (s *Service) Sweep(ctx context.Context) (expired, noticed int, err error) {
	prog, err := s.Programme(ctx)
	if err != nil {
		return 0, 0, err
	}
	now := s.o.Clock.Now()
	var after int64
	done := map[int64]bool{}
	for {
		lots, err := s.st.DueLots(ctx, time.Unix(0, 0), now.Add(time.Microsecond), after, sweepBatch)
		if err != nil {
			return expired, noticed, err
		}
		for _, l := range lots {
			after = l.ID
			if done[l.ProfileID] {
				continue
			}
			done[l.ProfileID] = true
			if err := s.st.LoyaltyTx(ctx, "expire", false, func(ctx context.Context, tx Tx) error {
				return touch(ctx, tx, prog, now, s.member(ctx, l.ProfileID), "", nil)
			}); err != nil {
				return expired, noticed, err
			}
			expired++
		}
		if len(lots) < sweepBatch {
			break
		}
	}
	s.mu.Lock()
	from := s.warnedTo
	s.mu.Unlock()
	if from.Before(now) {
		from = now
	}
	to := now.AddDate(0, 0, prog.Expiry.WarnDays)
	after = 0
	for from.Before(to) {
		lots, err := s.st.DueLots(ctx, from, to, after, sweepBatch)
		if err != nil {
			return expired, noticed, err
		}
		for _, l := range lots {
			after = l.ID
			lot := l
			if err := s.st.LoyaltyTx(ctx, "notice", false, func(ctx context.Context, tx Tx) error {
				return touch(ctx, tx, prog, now, s.member(ctx, lot.ProfileID), fmt.Sprintf("notice:%d", lot.ID), func(w *work) error {
					// The lot as it is now: spent or reversed since it was read, there is nothing to announce.
					i := slices.IndexFunc(w.lots, func(l *Entry) bool { return l.ID == lot.ID })
					if i < 0 || w.lots[i].Remaining == 0 {
						return nil
					}
					lot := w.lots[i]
					e := &Entry{ProfileID: lot.ProfileID, Kind: KindNotice, Cause: fmt.Sprintf("notice:%d", lot.ID), OrderID: lot.OrderID,
						Balance: w.acct.Balance, At: now, Note: fmt.Sprintf("%d points expire on %s", lot.Remaining, lot.ExpiresAt.Format(time.DateOnly))}
					if err := tx.InsertEntry(ctx, e); err != nil {
						return err
					}
					w.announce(EventExpiring, e, map[string]any{"points": lot.Remaining, "expires_at": lot.ExpiresAt,
						"days": int(lot.ExpiresAt.Sub(now).Hours() / 24)})
					return nil
				})
			}); err != nil {
				return expired, noticed, err
			}
			noticed++
		}
		if len(lots) < sweepBatch {
			break
		}
	}
	s.mu.Lock()
	s.warnedTo = to
	s.mu.Unlock()
	reviewed, err := s.reviewTiers(ctx, prog, now)
	if expired+noticed+reviewed > 0 {
		s.kick()
	}
	return expired, noticed, err
}

// reviewTiers reviews the tiers that time alone may have changed since
// the last sweep: members with qualifying points that left the rolling
// window, or whose reward's tier floor ended. A member whose tier holds
// is left as is; one whose tier moved gets a tier entry (no points) and
// Loyalty Tier Changed. It returns how many tiers changed.
func (s *Service) reviewTiers(ctx context.Context, prog *Programme, now time.Time) (int, error) {
	s.mu.Lock()
	from := s.reviewedTo
	s.mu.Unlock()
	if earliest := now.Add(-tierLookback); from.Before(earliest) {
		from = earliest
	}
	if !from.Before(now) {
		return 0, nil
	}
	days := prog.Tiers.PeriodDays
	changed := 0
	var after int64
	for {
		ids, err := s.st.LoyaltyTierReviews(ctx, from.AddDate(0, 0, -days), now.AddDate(0, 0, -days), from, now, after, sweepBatch)
		if err != nil {
			return changed, err
		}
		for _, id := range ids {
			after = id
			moved := false
			if err := s.st.LoyaltyTx(ctx, "tier", false, func(ctx context.Context, tx Tx) error {
				moved = false
				return touch(ctx, tx, prog, now, s.member(ctx, id), "", func(w *work) error {
					var err error
					moved, err = w.reviewTier(ctx)
					return err
				})
			}); err != nil {
				return changed, err
			}
			if moved {
				changed++
			}
		}
		if len(ids) < sweepBatch {
			break
		}
	}
	s.mu.Lock()
	s.reviewedTo = now
	s.mu.Unlock()
	if changed > 0 {
		s.log.Info("loyalty: tiers changed with time", "members", changed)
	}
	return changed, nil
}

// reviewTier records a tier entry when the member's tier, by their
// qualifying points now, is not the one they hold: finish then changes
// and announces it. An entry written already (points that lapsed) makes
// finish review the tier anyway.
func (w *work) reviewTier(ctx context.Context) (bool, error) {
	if w.last != nil {
		return false, nil
	}
	q, err := w.tx.Qualifying(ctx, w.acct.ProfileID, w.now.AddDate(0, 0, -w.prog.Tiers.PeriodDays))
	if err != nil {
		return false, err
	}
	tier := w.prog.tierFor(q, w.acct, w.now)
	if tier == w.acct.Tier {
		return false, nil
	}
	e := &Entry{ProfileID: w.acct.ProfileID, Kind: KindTier, Cause: fmt.Sprintf("tier:%d:%d", w.acct.ProfileID, w.now.UnixMicro()),
		Balance: w.acct.Balance, At: w.now,
		Note: fmt.Sprintf("tier %s → %s: %d qualifying points over the last %d days", orNone(w.acct.Tier), orNone(tier), q, w.prog.Tiers.PeriodDays)}
	if err := w.tx.InsertEntry(ctx, e); err != nil {
		return false, err
	}
	w.last = e
	return true, nil
}

func orNone(tier string) string {
	if tier == "" {
		return "none"
	}
	return tier
}

// RunSweep sweeps every interval until ctx ends.
func (s *Service) RunSweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if x, n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil && err != ErrNoProgramme {
			s.log.Error("loyalty: sweep failed", "err", err)
		} else if x+n > 0 {
			s.log.Log(ctx, slog.LevelInfo, "loyalty: swept", "accounts_expired", x, "expiry_notices", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
