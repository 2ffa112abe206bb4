package httpapi

import (
	"net/http"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
)

type createUserRequest struct {
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Stores   []string `json:"stores"`
	Password string   `json:"password"`
}

// checkGrant refuses to give a role and stores that the principal could
// not use itself: only an owner makes owners, nobody grants a permission
// they lack, and a store role grants only its own stores.
func checkGrant(p *auth.Principal, role auth.Role, stores []string) error {
	if !p.Role.MayGrant(role) {
		return &problem.Error{Kind: problem.KindForbidden, Code: "forbidden",
			Message: "the role " + string(p.Role) + " may not grant the role " + string(role) + ": only an owner grants owner, and nobody grants a permission they lack"}
	}
	if role.Scoped() && len(stores) == 0 {
		return problem.Invalidf("stores", "the role %s is scoped to stores: list at least one store id", role)
	}
	if !role.Scoped() && len(stores) > 0 {
		return problem.Invalidf("stores", "the role %s is not scoped to stores: leave stores empty, or use store_manager or store_staff", role)
	}
	for _, s := range stores {
		if !p.InStore(s) {
			return &problem.Error{Kind: problem.KindForbidden, Code: "forbidden", Message: "store " + s + " is not one of yours"}
		}
	}
	return nil
}

func parseRole(s string) (auth.Role, error) {
	r, err := auth.ParseRole(s)
	if err != nil {
		return "", problem.Invalid("role", err.Error())
	}
	return r, nil
}

// createUser serves POST /api/v1/users.
func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var req createUserRequest
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	role, err := parseRole(req.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := checkGrant(auth.FromContext(r.Context()), role, req.Stores); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := auth.NewUser(req.Email, req.Name, role, req.Stores, req.Password, a.clock.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.CreateUser(r.Context(), u); err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, u)
}

// listUsers serves GET /api/v1/users.
func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	list, err := a.store.ListUsers(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if list == nil {
		list = []*auth.User{}
	}
	httpjson.Write(w, http.StatusOK, struct {
		Users []*auth.User `json:"users"`
	}{list})
}

// getUser serves GET /api/v1/users/{id} (an id or an email).
func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := a.store.User(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, u)
}

// setUserRole serves PUT /api/v1/users/{id}/role: {"role", "stores"}.
func (a *API) setUserRole(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Role   string   `json:"role"`
		Stores []string `json:"stores"`
	}
	if err := decodeBody(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	p := auth.FromContext(r.Context())
	role, err := parseRole(req.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := checkGrant(p, role, req.Stores); err != nil {
		a.fail(w, r, err)
		return
	}
	a.changeUser(w, r, func(u *auth.User) error {
		if u.Role == auth.RoleOwner && p.Role != auth.RoleOwner {
			return &problem.Error{Kind: problem.KindForbidden, Code: "forbidden", Message: "only an owner changes an owner's role"}
		}
		u.Role, u.Stores = role, req.Stores
		return nil
	})
}

// userStatus serves POST /api/v1/users/{id}/disable and enable; disabling
// ends the user's sessions.
func (a *API) userStatus(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		a.changeUser(w, r, func(u *auth.User) error {
			if u.Role == auth.RoleOwner && p.Role != auth.RoleOwner {
				return &problem.Error{Kind: problem.KindForbidden, Code: "forbidden", Message: "only an owner disables or enables an owner"}
			}
			if disabled && p.Kind == "user" && p.ID == u.ID {
				return problem.Conflict("user", u.ID, "you cannot disable yourself: ask another admin")
			}
			u.Disabled = disabled
			if !disabled {
				u.FailedLogins, u.LockedUntil = 0, time.Time{}
			}
			return nil
		})
	}
}

// changeUser reads the user the path names, applies change, stores it,
// ends the user's sessions when they lose access, and answers the user.
func (a *API) changeUser(w http.ResponseWriter, r *http.Request, change func(*auth.User) error) {
	ctx := r.Context()
	u, err := a.store.User(ctx, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	was := *u
	if err := change(u); err != nil {
		a.fail(w, r, err)
		return
	}
	u.UpdatedAt = a.clock.Now()
	if err := a.store.UpdateUser(ctx, u); err != nil {
		a.fail(w, r, err)
		return
	}
	if u.Disabled && !was.Disabled || u.Role != was.Role {
		// A session carries the role it was opened with no further than
		// the next request: it reads the user again. Disabled users are
		// logged out everywhere at once all the same.
		if _, err := a.store.DeleteUserSessions(ctx, u.ID); err != nil {
			a.fail(w, r, err)
			return
		}
		a.access.forget()
	}
	httpjson.Write(w, http.StatusOK, u)
}
