package loyalty

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
)

// The events the ledger announces, on the member's timeline. Each carries
// the member's state after the change (balance, tier, next tier, points
// expiring): the profile folds the latest into the loyalty computed
// traits (profile.Loyalty), journeys trigger on them.
const (
	EventJoined      = "Loyalty Member Joined"
	EventEarned      = "Loyalty Points Earned"
	EventRedeemed    = "Loyalty Points Redeemed"
	EventExpired     = "Loyalty Points Expired"
	EventAdjusted    = "Loyalty Points Adjusted"
	EventReversed    = "Loyalty Points Reversed"
	EventMerged      = "Loyalty Accounts Merged"
	EventTierChanged = "Loyalty Tier Changed"
	EventExpiring    = "Loyalty Points Expiring"
)

var eventNames = map[string]string{
	KindEarn: EventEarned, KindBonus: EventEarned, KindBurn: EventRedeemed, KindExpire: EventExpired,
	KindAdjust: EventAdjusted, KindReverse: EventReversed, KindMerge: EventMerged,
}

// SourceID is the source of the events Parcours itself appends.
const SourceID = "src_parcours"

// Member is a profile, with the identifiers its events carry so that
// unify puts them on its timeline.
type Member struct {
	ProfileID   int64
	UserID      string
	AnonymousID string
	Traits      map[string]string // email, phone, loyaltyId: when there is no user id
	LoyaltyCard string
}

// MemberOf returns the member a profile is.
func MemberOf(p *profile.Profile) Member {
	m := Member{ProfileID: p.ID}
	for _, id := range p.Identifiers {
		switch id.Kind {
		case identity.UserID:
			if m.UserID == "" {
				m.UserID = id.Value
			}
		case identity.AnonymousID:
			if m.AnonymousID == "" {
				m.AnonymousID = id.Value
			}
		case identity.LoyaltyID:
			if m.LoyaltyCard == "" {
				m.LoyaltyCard = id.Value
			}
			fallthrough
		case identity.Email, identity.Phone, identity.StoreCustomerID:
			if m.Traits == nil {
				m.Traits = map[string]string{}
			}
			if _, ok := m.Traits[id.Kind.Trait()]; !ok {
				m.Traits[id.Kind.Trait()] = id.Value
			}
		}
	}
	return m
}

// announce queues an event about e for the outbox.
func (w *work) announce(name string, e *Entry, props map[string]any) {
	props["profileId"] = w.acct.ProfileID
	for k, v := range props {
		if s, ok := v.(string); ok && s == "" {
			delete(props, k)
		}
	}
	body, _ := json.Marshal(props)
	ev := &event.Event{
		MessageID: fmt.Sprintf("parcours-loyalty-%d-%s", e.ID, strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "Loyalty "), " ", "-"))),
		Type:      event.Track, Event: name, Properties: body,
		UserID: w.member.UserID, AnonymousID: w.member.AnonymousID,
		Timestamp: w.now, ReceivedAt: w.now, SourceID: SourceID, Channel: profile.CommerceChannel,
	}
	if ev.UserID == "" && len(w.member.Traits) > 0 {
		ev.Context, _ = json.Marshal(map[string]any{"traits": w.member.Traits})
	}
	w.events = append(w.events, ev)
	w.last = e
}

// tierFor is the tier of q qualifying points, or the account's floor
// while it holds.
func (p *Programme) tierFor(q int64, a Account, now time.Time) string {
	tier, rank := "", -1
	for i, t := range p.Tiers.Levels {
		if q >= t.Threshold {
			tier, rank = t.ID, i
		}
	}
	if a.TierFloor != "" && now.Before(a.FloorUntil) {
		if i := p.rank(a.TierFloor); i > rank {
			tier = a.TierFloor
		}
	}
	return tier
}

func (p *Programme) rank(tier string) int {
	for i, t := range p.Tiers.Levels {
		if t.ID == tier {
			return i
		}
	}
	return -1
}

// direction is up or down.
func (p *Programme) direction(from, to string) string {
	if p.rank(to) > p.rank(from) {
		return "up"
	}
	return "down"
}

// Expiring is points that lapse on one day.
type Expiring struct {
	Points int64     `json:"points"`
	At     time.Time `json:"at"`
}

// snapshot is the member's state every event carries.
func (p *Programme) snapshot(a Account, q int64, lots []*Entry, now time.Time) map[string]any {
	s := map[string]any{"balance": a.Balance, "qualifying_points": q, "lifetime_points": a.Earned}
	if a.Tier != "" {
		s["tier"] = a.Tier
		if t, ok := p.Tier(a.Tier); ok && t.Name != "" {
			s["tier_name"] = t.Name
		}
	}
	if i := p.rank(a.Tier); i+1 < len(p.Tiers.Levels) && len(p.Tiers.Levels) > 0 {
		next := p.Tiers.Levels[i+1]
		s["next_tier"] = next.ID
		s["next_tier_distance"] = max(0, next.Threshold-q)
	}
	s["expiring"] = expiring(lots, now, 3)
	if p.PointValue > 0 {
		s["value"] = float64(a.Balance) * p.PointValue
	}
	return s
}

// expiring groups the lots' remaining points by the day they lapse: the
// first n days.
func expiring(lots []*Entry, now time.Time, n int) []Expiring {
	by := map[time.Time]int64{}
	for _, l := range lots {
		if l.Remaining > 0 && !l.ExpiresAt.IsZero() && l.ExpiresAt.After(now) {
			by[l.ExpiresAt.UTC().Truncate(24*time.Hour)] += l.Remaining
		}
	}
	out := make([]Expiring, 0, len(by))
	for at, pts := range by {
		out = append(out, Expiring{Points: pts, At: at})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	if len(out) > n {
		out = out[:n]
	}
	return out
}
