package loyalty

import (
	"context"
	"errors"
	"time"

	"github.com/parcours/parcours/internal/problem"
)

// Statement is a member's account and entries, as the member, a till or
// an access request reads them.
type Statement struct {
	ProfileID        int64      `json:"profile_id"`
	Member           bool       `json:"member"` // false: no account yet
	Balance          int64      `json:"balance"`
	Value            float64    `json:"value"` // balance × point value
	Currency         string     `json:"currency"`
	Tier             string     `json:"tier,omitempty"`
	TierName         string     `json:"tier_name,omitempty"`
	Benefits         *Benefits  `json:"benefits,omitempty"`
	QualifyingPoints int64      `json:"qualifying_points"`
	NextTier         string     `json:"next_tier,omitempty"`
	NextTierDistance *int64     `json:"next_tier_distance,omitempty"`
	Expiring         []Expiring `json:"expiring"`
	Earned           int64      `json:"lifetime_earned"`
	Spent            int64      `json:"lifetime_redeemed"`
	JoinedAt         time.Time  `json:"joined_at,omitzero"`
	Entries          []*Entry   `json:"entries"`
	// NextBefore pages on: pass it as before for older entries; 0 when
	// there are none.
	NextBefore int64 `json:"next_before,omitempty"`
}

// Statement returns a member's statement: up to limit entries older than
// before (0: the newest).
func (s *Service) Statement(ctx context.Context, profile, before int64, limit int) (*Statement, error) {
	prog, err := s.Programme(ctx)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	now := s.o.Clock.Now()
	st := &Statement{ProfileID: profile, Currency: prog.Currency, Expiring: []Expiring{}, Entries: []*Entry{}}
	a, err := s.st.LoyaltyAccount(ctx, profile)
	if errors.Is(err, problem.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	q, err := s.st.LoyaltyQualifying(ctx, profile, now.AddDate(0, 0, -prog.Tiers.PeriodDays))
	if err != nil {
		return nil, err
	}
	lots, err := s.st.LoyaltyLots(ctx, profile)
	if err != nil {
		return nil, err
	}
	st.Member, st.Balance, st.Tier, st.QualifyingPoints = true, a.Balance, a.Tier, q
	st.Earned, st.Spent, st.JoinedAt = a.Earned, a.Spent, a.JoinedAt
	st.Value = float64(a.Balance) * prog.PointValue
	if t, ok := prog.Tier(a.Tier); ok {
		st.TierName = t.Name
		if t.Benefits != (Benefits{}) {
			b := t.Benefits
			st.Benefits = &b
		}
	}
	if i := prog.rank(a.Tier); i+1 < len(prog.Tiers.Levels) {
		next := prog.Tiers.Levels[i+1]
		d := max(0, next.Threshold-q)
		st.NextTier, st.NextTierDistance = next.ID, &d
	}
	st.Expiring = expiring(lots, now, 3)
	es, err := s.st.LoyaltyEntries(ctx, EntryQuery{Profile: profile, Before: before, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	if len(es) > limit {
		es = es[:limit]
		st.NextBefore = es[limit-1].ID
	}
	st.Entries = append(st.Entries, es...)
	return st, nil
}

// LiabilityReport is what the programme owes, for finance.
type LiabilityReport struct {
	Programme  string    `json:"programme"`
	At         time.Time `json:"at"`
	Currency   string    `json:"currency"`
	PointValue float64   `json:"point_value"`
	// Value is the points outstanding times the point value.
	Value float64 `json:"value"`
	Liability
	PeriodDays int `json:"period_days"`
	// RedemptionRate is the points redeemed over the points earned in
	// the period; ActiveRate the members with an entry in it over all.
	RedemptionRate float64 `json:"redemption_rate"`
	ActiveRate     float64 `json:"active_rate"`
}

// Liability reports the points outstanding and their value, and the
// flows of the last days.
func (s *Service) Liability(ctx context.Context, days int) (*LiabilityReport, error) {
	prog, err := s.Programme(ctx)
	if err != nil {
		return nil, err
	}
	if days <= 0 {
		days = 30
	}
	now := s.o.Clock.Now()
	l, err := s.st.LoyaltyLiability(ctx, now.AddDate(0, 0, -days))
	if err != nil {
		return nil, err
	}
	r := &LiabilityReport{Programme: prog.ID, At: now, Currency: prog.Currency, PointValue: prog.PointValue,
		Value: float64(l.Outstanding) * prog.PointValue, Liability: *l, PeriodDays: days}
	if l.EarnedInPeriod > 0 {
		r.RedemptionRate = float64(l.SpentInPeriod) / float64(l.EarnedInPeriod)
	}
	if l.Members > 0 {
		r.ActiveRate = float64(l.ActiveInPeriod) / float64(l.Members)
	}
	return r, nil
}
