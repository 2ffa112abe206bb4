package auth

import (
	"context"
	"slices"
	"time"
)

// Principal is who makes a request: a signed-in user or an API key.
type Principal struct {
	// Kind is "user" or "key".
	Kind string
	// ID is the user's or the key's id; Name its email or its name.
	ID, Name string
	Role     Role
	// Stores limits a store role to these store (location) ids.
	Stores []string
	// Session is the session's id (its token's hash) for a user signed
	// in through the console; "" for a key.
	Session string
	// CSRF is the session's anti-forgery token.
	CSRF string
	// Expires is when the key or session stops opening anything.
	Expires time.Time
}

// Actor names the principal in the audit log: "user:ID" or "key:ID".
func (p *Principal) Actor() string { return p.Kind + ":" + p.ID }

// InStore reports whether the principal may act on the store id: any
// store for an unscoped role, its own stores for a store role.
func (p *Principal) InStore(id string) bool {
	return !p.Role.Scoped() || slices.Contains(p.Stores, id)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of a request, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
