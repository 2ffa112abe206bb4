package identity

import (
	"fmt"
	"slices"
)

// Node is what the resolver needs to know of a profile: its identifiers
// and how many merges it has absorbed.
type Node struct {
	ID          int64
	Identifiers []Identifier
	Merges      int
}

func (n *Node) count(k Kind) int {
	c := 0
	for _, id := range n.Identifiers {
		if id.Kind == k {
			c++
		}
	}
	return c
}

func (n *Node) has(id Identifier) bool { return slices.Contains(n.Identifiers, id) }

// Graph is the identity state the resolver reads.
type Graph interface {
	// Holder returns the profile holding id, following merges; 0 if none.
	Holder(id Identifier) (int64, error)
	// Node returns a profile's identity.
	Node(profile int64) (*Node, error)
}

// Refusal is an identifier that was not linked, and why.
type Refusal struct {
	Identifier Identifier `json:"identifier"`
	// Holder is the profile that holds the identifier, if any: the two
	// profiles were not merged.
	Holder int64  `json:"holder,omitempty"`
	Reason string `json:"reason"`
}

// Plan is what resolving one event decides.
type Plan struct {
	// Profile is the profile the event belongs to after the plan is
	// applied (the smallest id of those merged); 0 if the event carries no
	// usable identifier.
	Profile int64
	// Created is set when the event starts a new profile (then Created ==
	// Profile).
	Created int64
	// Merged are the profiles merged into Profile.
	Merged []int64
	// Linked are the identifiers added to Profile.
	Linked []Identifier
	// Refused are the identifiers left unlinked.
	Refused []Refusal
}

// Resolve decides where an event with identifiers ids belongs. ids are
// taken in priority order: the first decides the base profile (its holder,
// or a new profile of id newID), and each next one either is already there,
// is linked to it, brings its own profile to be merged, or is refused
// because the link would break a limit or a cap.
func (r *Rules) Resolve(g Graph, ids []Identifier, newID int64) (Plan, error) {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b Identifier) int {
		switch {
		case a == b:
			return 0
		case r.Less(a, b):
			return -1
		}
		return 1
	})
	ids = slices.Compact(ids)
	var plan Plan
	var cluster *Node
	members := map[int64]bool{}
	for _, id := range ids {
		holder, err := g.Holder(id)
		if err != nil {
			return Plan{}, fmt.Errorf("identity: resolve %s: %w", id, err)
		}
		switch {
		case cluster == nil && holder != 0:
			n, err := g.Node(holder)
			if err != nil {
				return Plan{}, fmt.Errorf("identity: load profile %d: %w", holder, err)
			}
			cluster = &Node{ID: n.ID, Identifiers: slices.Clone(n.Identifiers), Merges: n.Merges}
			members[holder] = true
		case cluster == nil:
			cluster = &Node{ID: newID, Identifiers: []Identifier{id}}
			members[newID] = true
			plan.Created = newID
			plan.Linked = append(plan.Linked, id)
		case members[holder]:
			// Already part of the profile.
		case holder == 0:
			if why := r.canLink(cluster, id); why != "" {
				plan.Refused = append(plan.Refused, Refusal{Identifier: id, Reason: why})
				continue
			}
			cluster.Identifiers = append(cluster.Identifiers, id)
			plan.Linked = append(plan.Linked, id)
		default:
			other, err := g.Node(holder)
			if err != nil {
				return Plan{}, fmt.Errorf("identity: load profile %d: %w", holder, err)
			}
			if why := r.canMerge(cluster, other); why != "" {
				plan.Refused = append(plan.Refused, Refusal{Identifier: id, Holder: holder, Reason: why})
				continue
			}
			for _, x := range other.Identifiers {
				if !cluster.has(x) {
					cluster.Identifiers = append(cluster.Identifiers, x)
				}
			}
			cluster.Merges += other.Merges + 1
			members[holder] = true
			plan.Merged = append(plan.Merged, holder)
		}
	}
	if cluster == nil {
		return plan, nil
	}
	// The oldest profile (smallest id) survives a merge, whichever
	// identifier came first, so that a profile's id is stable.
	plan.Profile = cluster.ID
	for m := range members {
		plan.Profile = min(plan.Profile, m)
	}
	if plan.Profile != cluster.ID {
		plan.Merged = slices.DeleteFunc(plan.Merged, func(m int64) bool { return m == plan.Profile })
		if cluster.ID == plan.Created {
			// The new profile is merged away at once: its identifiers are
			// simply linked to the surviving one.
			plan.Created = 0
		} else {
			plan.Merged = append(plan.Merged, cluster.ID)
		}
		slices.Sort(plan.Merged)
	}
	return plan, nil
}

// canLink says why id cannot join n, or "".
func (r *Rules) canLink(n *Node, id Identifier) string {
	if len(n.Identifiers) >= r.MaxIdentifiers {
		return fmt.Sprintf("the profile holds %d identifiers, the cap", r.MaxIdentifiers)
	}
	if n.count(id.Kind) >= r.Limit(id.Kind) {
		return fmt.Sprintf("the profile already holds %d %s, the limit", r.Limit(id.Kind), id.Kind)
	}
	return ""
}

// canMerge says why b cannot be merged with a, or "".
func (r *Rules) canMerge(a, b *Node) string {
	if a.count(UserID) > 0 && b.count(UserID) > 0 {
		return "both profiles hold a user id"
	}
	if a.Merges+b.Merges+1 > r.MaxMerges {
		return fmt.Sprintf("the merge would pass the cap of %d merges", r.MaxMerges)
	}
	union := slices.Clone(a.Identifiers)
	for _, x := range b.Identifiers {
		if !slices.Contains(union, x) {
			union = append(union, x)
		}
	}
	if len(union) > r.MaxIdentifiers {
		return fmt.Sprintf("the merged profile would pass the cap of %d identifiers", r.MaxIdentifiers)
	}
	merged := &Node{Identifiers: union}
	for _, x := range union {
		if c := merged.count(x.Kind); c > r.Limit(x.Kind) {
			return fmt.Sprintf("the merged profile would hold %d %s, over the limit of %d", c, x.Kind, r.Limit(x.Kind))
		}
	}
	return ""
}
