package unify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/parcours/parcours/internal/event"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/profile"
)

// Holders finds the profiles that hold identifiers.
type Holders interface {
	Holders(ctx context.Context, ids []identity.Identifier) (map[identity.Identifier]int64, error)
}

// Owners finds the profile of each event of a batch unify has handled, as
// every stage that reads behind unify needs it: Parcours' internal events
// name it (properties.profileId); the others are found by their
// identifiers, the most trusted first (an identifier's holder is always a
// live profile: a merge moves the merged profile's identifiers). 0: none.
// merges maps the index of each Profile Merged event to (into, merged).
func Owners(ctx context.Context, st Holders, rules *identity.Rules, batch []*event.Event) ([]int64, map[int][2]int64, error) {
	owners := make([]int64, len(batch))
	merges := map[int][2]int64{}
	var all []identity.Identifier
	asked := map[identity.Identifier]bool{} // a customer's events in one batch share their identifiers
	ids := make([][]identity.Identifier, len(batch))
	for i, e := range batch {
		if e.Channel == profile.InternalChannel {
			var p struct {
				ProfileID       int64 `json:"profileId"`
				MergedProfileID int64 `json:"mergedProfileId"`
			}
			if json.Unmarshal(e.Properties, &p) == nil {
				owners[i] = p.ProfileID
				if e.Event == EventProfileMerged && p.MergedProfileID != 0 && p.MergedProfileID != p.ProfileID {
					merges[i] = [2]int64{p.ProfileID, p.MergedProfileID}
				}
			}
			continue
		}
		for _, raw := range identity.Extract(e) {
			if id, refused := rules.Normalize(raw); refused == "" {
				ids[i] = append(ids[i], id)
			}
		}
		for _, id := range ids[i] {
			if !asked[id] {
				asked[id] = true
				all = append(all, id)
			}
		}
	}
	if len(all) == 0 {
		return owners, merges, nil
	}
	holders, err := st.Holders(ctx, all)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve profiles: %w", err)
	}
	for i := range batch {
		for _, id := range ids[i] {
			if h := holders[id]; h != 0 {
				owners[i] = h
				break
			}
		}
	}
	return owners, merges, nil
}

// ProfileFinder finds the profile of each event of a batch unify has
// handled, loaded (nil: none): what commerce's consumer needs so that a
// customer's cart follows their profile.
type ProfileFinder struct {
	Store interface {
		Holders
		LoadProfiles(ctx context.Context, ids []int64) (map[int64]*profile.Profile, error)
	}
	Rules *identity.Rules // nil: the default rules
}

// EventProfiles returns the profile of each event of batch (see Owners).
func (f ProfileFinder) EventProfiles(ctx context.Context, batch []*event.Event) ([]*profile.Profile, error) {
	rules := f.Rules
	if rules == nil {
		rules = identity.DefaultRules()
	}
	owners, _, err := Owners(ctx, f.Store, rules, batch)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, id := range owners {
		if id != 0 {
			ids = append(ids, id)
		}
	}
	out := make([]*profile.Profile, len(batch))
	if len(ids) == 0 {
		return out, nil
	}
	loaded, err := f.Store.LoadProfiles(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("load profiles: %w", err)
	}
	for i, id := range owners {
		out[i] = loaded[id]
	}
	return out, nil
}
