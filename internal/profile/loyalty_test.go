package profile

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/event"
)

func loyaltyEvent(id int64, balance int64, tier string, at time.Time) *event.Event {
	return &event.Event{MessageID: fmt.Sprintf("parcours-loyalty-%d-points-earned", id), Type: event.Track, Event: "Loyalty Points Earned",
		SourceID: ParcoursSource, Channel: CommerceChannel, UserID: "u", Timestamp: at,
		Properties: json.RawMessage(fmt.Sprintf(`{"entry_id":%d,"balance":%d,"tier":%q,"next_tier":"gold","next_tier_distance":%d,`+
			`"expiring":[{"points":40,"at":%q},{"points":10,"at":%q}]}`, id, balance, tier, 1000-balance,
			at.Add(20*24*time.Hour).Format(time.RFC3339), at.Add(90*24*time.Hour).Format(time.RFC3339)))}
}

// TestLoyaltyTraitsFollowTheLatestEntry: the ledger's latest entry wins,
// whatever order its events arrive in and however profiles merge (entry
// ids, not timestamps: a ledger writes many entries in one instant).
func TestLoyaltyTraitsFollowTheLatestEntry(t *testing.T) {
	at := t0
	evs := []*event.Event{loyaltyEvent(9, 120, "silver", at), loyaltyEvent(10, 80, "silver", at), loyaltyEvent(2, 50, "silver", at.Add(time.Hour))}
	want := map[string]any{"loyalty_points": int64(80), "loyalty_tier": "silver", "next_tier_distance": int64(920), "points_expiring_soon": int64(40)}
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
		p := New(1)
		for _, i := range order {
			p.Apply(evs[i])
		}
		got := Computed(p, &Env{Now: at})
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("order %v: %s = %v (%T), want %v", order, k, got[k], got[k], v)
			}
		}
	}
	a, b := New(1), New(2)
	a.Apply(evs[0])
	b.Apply(evs[1])
	b.Apply(evs[2])
	ab, ba := New(1), New(2)
	ab.Merge(a)
	ab.Merge(b)
	ba.Merge(b)
	ba.Merge(a)
	if ab.Agg.Loyalty.Balance != 80 || ba.Agg.Loyalty.Balance != 80 {
		t.Fatalf("merged balances %d and %d, want 80", ab.Agg.Loyalty.Balance, ba.Agg.Loyalty.Balance)
	}
	if v := Computed(New(3), &Env{Now: at})["loyalty_points"]; v != nil {
		t.Fatalf("a non-member's loyalty_points = %v, want none", v)
	}
}
