package message

import (
	"time"

	"github.com/parcours/parcours/internal/profile"
)

// loyaltyData is the "loyalty" variable of templates: the member's state
// as the ledger's latest event left it on the profile (docs/loyalty.md).
// A customer who is not a member gets {"member": false, "points": 0}.
func loyaltyData(p *profile.Profile, now time.Time) map[string]any {
	if p == nil || p.Agg.Loyalty == nil {
		return map[string]any{"member": false, "points": 0}
	}
	s := p.Agg.Loyalty
	d := map[string]any{"member": true, "points": s.Balance, "tier": s.Tier, "tier_name": s.TierName,
		"next_tier": s.NextTier, "value": s.Value, "lifetime_points": s.Lifetime,
		"expiring_points": s.ExpiringWithin(now, 30*24*time.Hour)}
	if s.TierName == "" {
		d["tier_name"] = s.Tier
	}
	if s.NextTierDistance != nil {
		d["next_tier_distance"] = *s.NextTierDistance
	}
	for _, e := range s.Expiring {
		if e.At.After(now.Add(-24 * time.Hour)) {
			d["expiring_at"] = e.At.Format(time.DateOnly)
			d["expiring_first"] = e.Points
			break
		}
	}
	return d
}
