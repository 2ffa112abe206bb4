// Package auth is who may do what in Parcours: the roles, the permissions
// each grants, the people (users with passwords and optional TOTP), their
// console sessions, the scoped API keys, and the audit log's entries. It
// holds no HTTP and no SQL: internal/httpapi checks a request's permission
// in one place with Role.Can, and the store engines keep the rows.
package auth

import (
	"fmt"
	"slices"
	"strings"
)

// Role is what a user or an API key may do: one of the roles below.
type Role string

// The roles (docs/security.md, "Roles and permissions").
const (
	// RoleOwner may do everything, and is the only role that may grant
	// owner.
	RoleOwner Role = "owner"
	// RoleAdmin may do everything but grant owner.
	RoleAdmin Role = "admin"
	// RoleMarketer runs segments, journeys, templates and sends.
	RoleMarketer Role = "marketer"
	// RoleAnalyst reads definitions and aggregates and runs measure; it
	// reads no personal data.
	RoleAnalyst Role = "analyst"
	// RoleStoreManager runs the stores of its scope: their tasks, stock,
	// reservations and orders, and the customers it serves there.
	RoleStoreManager Role = "store_manager"
	// RoleStoreStaff works the tasks, reservations and orders of its
	// stores; it sets no stock.
	RoleStoreStaff Role = "store_staff"
	// RoleAgent is customer service: profiles, timelines, consent,
	// messages, orders; no exports and no bulk reads.
	RoleAgent Role = "agent"
	// RoleReadOnly reads what the others read one at a time; it changes
	// nothing and exports nothing.
	RoleReadOnly Role = "read_only"
)

// Roles is every role, from the most to the least powerful.
var Roles = []Role{RoleOwner, RoleAdmin, RoleMarketer, RoleAnalyst, RoleStoreManager, RoleStoreStaff, RoleAgent, RoleReadOnly}

// ParseRole returns the role named s, or an error listing the roles.
func ParseRole(s string) (Role, error) {
	r := Role(strings.TrimSpace(s))
	if slices.Contains(Roles, r) {
		return r, nil
	}
	names := make([]string, len(Roles))
	for i, r := range Roles {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown role %q: use one of %s", s, strings.Join(names, ", "))
}

// Scoped reports whether the role is limited to stores: a user or key
// with it needs at least one store.
func (r Role) Scoped() bool { return r == RoleStoreManager || r == RoleStoreStaff }

// Can reports whether the role grants p. It is a bit test: the
// permission table is compiled into one mask per role when the package
// loads.
func (r Role) Can(p Permission) bool {
	i, ok := permIndex[p]
	if !ok {
		return false
	}
	return masks[r]&(1<<i) != 0
}

// Permissions returns what the role grants, in the table's order.
func (r Role) Permissions() []Permission {
	var out []Permission
	for _, p := range AllPermissions {
		if r.Can(p) {
			out = append(out, p)
		}
	}
	return out
}

// MayGrant reports whether a holder of r may give a user or key the role
// g: only an owner grants owner, and nobody grants what they lack.
func (r Role) MayGrant(g Role) bool {
	if g == RoleOwner {
		return r == RoleOwner
	}
	return masks[g]&^masks[r] == 0
}
