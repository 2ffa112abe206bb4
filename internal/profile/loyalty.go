package profile

import (
	"encoding/json"
	"strings"
	"time"
)

// LoyaltySnapshot is a member's loyalty state as the ledger's latest
// event carried it (every Loyalty ... event carries the state after its
// change): what the loyalty computed traits and templates read.
type LoyaltySnapshot struct {
	// EntryID orders snapshots: a member's ledger entries are numbered in
	// the order they were written.
	EntryID          int64             `json:"entry_id"`
	Balance          int64             `json:"balance"`
	Tier             string            `json:"tier,omitempty"`
	TierName         string            `json:"tier_name,omitempty"`
	NextTier         string            `json:"next_tier,omitempty"`
	NextTierDistance *int64            `json:"next_tier_distance,omitempty"`
	Qualifying       int64             `json:"qualifying_points"`
	Lifetime         int64             `json:"lifetime_points"`
	Value            float64           `json:"value,omitempty"`
	Expiring         []LoyaltyExpiring `json:"expiring,omitempty"`
	At               time.Time         `json:"at"`
}

// LoyaltyExpiring is points that lapse on a day.
type LoyaltyExpiring struct {
	Points int64     `json:"points"`
	At     time.Time `json:"at"`
}

// isLoyaltyEvent reports an event of the ledger's.
func isLoyaltyEvent(sourceID, name string) bool {
	return sourceID == ParcoursSource && strings.HasPrefix(name, "Loyalty ")
}

// loyalty folds a ledger event: the snapshot of the latest entry wins.
func (a *Aggregates) loyalty(body json.RawMessage, at time.Time) {
	var s LoyaltySnapshot
	if json.Unmarshal(body, &s) != nil || s.EntryID == 0 {
		return
	}
	s.At = at
	if a.Loyalty == nil || s.EntryID >= a.Loyalty.EntryID {
		a.Loyalty = &s
	}
}

// ExpiringWithin sums the points that lapse in (now, now+d].
func (s *LoyaltySnapshot) ExpiringWithin(now time.Time, d time.Duration) int64 {
	var n int64
	for _, e := range s.Expiring {
		if e.At.After(now.Add(-24*time.Hour)) && !e.At.After(now.Add(d)) {
			n += e.Points
		}
	}
	return n
}

// loyaltyTrait returns f of the member's snapshot, nil for a non-member.
func loyaltyTrait(f func(s *LoyaltySnapshot, env *Env) any) func(p *Profile, env *Env) any {
	return func(p *Profile, env *Env) any {
		if p.Agg.Loyalty == nil {
			return nil
		}
		return f(p.Agg.Loyalty, env)
	}
}

// loyaltyDefinitions are the loyalty computed traits (issue 23).
var loyaltyDefinitions = []Definition{
	{"loyalty_points", "the loyalty balance in points (none for a non-member)", loyaltyTrait(func(s *LoyaltySnapshot, _ *Env) any { return s.Balance })},
	{"loyalty_tier", "the loyalty tier's id", loyaltyTrait(func(s *LoyaltySnapshot, _ *Env) any { return strOrNil(s.Tier) })},
	{"points_expiring_soon", "loyalty points that expire within 30 days", loyaltyTrait(func(s *LoyaltySnapshot, env *Env) any {
		return s.ExpiringWithin(env.Now, 30*24*time.Hour)
	})},
	{"next_tier_distance", "qualifying points still needed for the next loyalty tier (none at the top)", loyaltyTrait(func(s *LoyaltySnapshot, _ *Env) any {
		if s.NextTierDistance == nil {
			return nil
		}
		return *s.NextTierDistance
	})},
}

func init() { Definitions = append(Definitions, loyaltyDefinitions...) }
