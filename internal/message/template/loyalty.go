package template

// The loyalty variable (issue 23): the member's balance, tier and points
// expiring, from the profile (internal/message/loyalty.go fills it). It
// is added here, not in Roots' literal, so that other roots can be added
// beside it without touching one line twice.
func init() {
	Roots = append(Roots, "loyalty")
	Fields["loyalty"] = []string{"member", "points", "tier", "tier_name", "next_tier", "next_tier_distance", "value",
		"lifetime_points", "expiring_points", "expiring_at", "expiring_first"}
}
