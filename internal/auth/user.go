package auth

import (
	"strings"
	"time"

	"github.com/parcours/parcours/internal/problem"
)

// NewUser checks and builds a user, hashing the password. The stores
// must suit the role (a store role needs some, the others none).
func NewUser(email, name string, role Role, stores []string, password string, now time.Time) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if !validEmail(email) {
		return nil, problem.Invalidf("email", "%q is not an email address: write it like name@example.com", email)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return nil, problem.Invalid("role", err.Error())
	}
	if role.Scoped() && len(stores) == 0 {
		return nil, problem.Invalidf("stores", "the role %s is scoped to stores: list at least one store id", role)
	}
	if !role.Scoped() && len(stores) > 0 {
		return nil, problem.Invalidf("stores", "the role %s is not scoped to stores: leave stores empty", role)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, problem.Invalid("password", err.Error())
	}
	if name == "" {
		name = email[:strings.IndexByte(email, '@')]
	}
	return &User{ID: NewID("usr_"), Email: email, Name: strings.TrimSpace(name), Role: role, Stores: stores,
		PasswordHash: hash, CreatedAt: now, UpdatedAt: now}, nil
}

func validEmail(email string) bool {
	at := strings.LastIndexByte(email, '@')
	return at > 0 && at < len(email)-1 && !strings.ContainsAny(email, " \t\r\n<>,;") && len(email) <= 254
}
