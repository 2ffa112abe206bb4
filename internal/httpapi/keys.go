package httpapi

import (
	"net/http"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/httpjson"
	"github.com/parcours/parcours/internal/problem"
)

// createdKey is a key with its secret: the only answer that holds it.
type createdKey struct {
	*auth.APIKey
	Secret string `json:"secret"`
	Note   string `json:"note"`
}

const secretNote = "this is the only time the key is shown: Parcours keeps its hash only"

// createKey serves POST /api/v1/keys: {"name", "role", "stores",
// "expires_at" or "expires_in"}.
func (a *API) createKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name      string    `json:"name"`
		Role      string    `json:"role"`
		Stores    []string  `json:"stores"`
		ExpiresAt time.Time `json:"expires_at"`
		ExpiresIn string    `json:"expires_in"`
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
	now := a.clock.Now()
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			a.fail(w, r, problem.Invalidf("expires_in", "%q is not a positive duration: write it like 720h", req.ExpiresIn))
			return
		}
		req.ExpiresAt = now.Add(d)
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now) {
		a.fail(w, r, problem.Invalid("expires_at", "is in the past: a key must expire later than now"))
		return
	}
	if req.Name == "" {
		a.fail(w, r, problem.Invalid("name", "is required: say what the key is for, like \"Lyon POS\""))
		return
	}
	k, secret, err := auth.NewAPIKey(req.Name, role, req.Stores, req.ExpiresAt, p.Actor(), now)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.store.CreateAPIKey(r.Context(), k); err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusCreated, createdKey{k, secret, secretNote})
}

// listKeys serves GET /api/v1/keys (never their secrets).
func (a *API) listKeys(w http.ResponseWriter, r *http.Request) {
	list, err := a.store.ListAPIKeys(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if list == nil {
		list = []*auth.APIKey{}
	}
	httpjson.Write(w, http.StatusOK, struct {
		Keys []*auth.APIKey `json:"keys"`
	}{list})
}

// getKey serves GET /api/v1/keys/{id}.
func (a *API) getKey(w http.ResponseWriter, r *http.Request) {
	k, err := a.store.APIKey(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	httpjson.Write(w, http.StatusOK, k)
}

// revokeKey serves POST /api/v1/keys/{id}/revoke: the key opens nothing
// from now on.
func (a *API) revokeKey(w http.ResponseWriter, r *http.Request) {
	k, ok := a.changeKey(w, r, func(k *auth.APIKey, now time.Time) (string, error) {
		if k.RevokedAt.IsZero() {
			k.RevokedAt = now
		}
		return "", nil
	})
	if ok {
		httpjson.Write(w, http.StatusOK, k)
	}
}

// rotateKey serves POST /api/v1/keys/{id}/rotate: a new secret for the
// same key (id, role, stores, expiry); the old secret opens nothing from
// now on.
func (a *API) rotateKey(w http.ResponseWriter, r *http.Request) {
	var secret string
	k, ok := a.changeKey(w, r, func(k *auth.APIKey, now time.Time) (string, error) {
		if !k.RevokedAt.IsZero() {
			return "", problem.Conflict("key", k.ID, "is revoked: create a new key instead")
		}
		var err error
		secret, err = auth.RotateAPIKey(k, now)
		return secret, err
	})
	if ok {
		httpjson.Write(w, http.StatusOK, createdKey{k, secret, secretNote})
	}
}

// changeKey applies change to the key the path names and stores it,
// forgetting every key this process believed valid. Only an owner
// changes an owner key.
func (a *API) changeKey(w http.ResponseWriter, r *http.Request, change func(*auth.APIKey, time.Time) (string, error)) (*auth.APIKey, bool) {
	k, err := a.store.APIKey(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	if p := auth.FromContext(r.Context()); !p.Role.MayGrant(k.Role) {
		a.fail(w, r, &problem.Error{Kind: problem.KindForbidden, Code: "forbidden",
			Message: "the role " + string(p.Role) + " may not change a key of role " + string(k.Role)})
		return nil, false
	}
	if _, err := change(k, a.clock.Now()); err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	if err := a.store.UpdateAPIKey(r.Context(), k); err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	a.access.forget()
	return k, true
}
