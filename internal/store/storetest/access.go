package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := &auth.User{ID: "usr_1", Email: "Camille.Martin@example.fr", Name: "Camille Martin", Role: auth.RoleStoreManager,
		Stores: []string{"lyon-01", "paris-02"}, PasswordHash: "$argon2id$x", TOTPSecret: "JBSWY3DPEHPK3PXP", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	dup := *u
	dup.ID, dup.Email = "usr_2", "camille.martin@EXAMPLE.fr"
	if err := s.CreateUser(ctx, &dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateUser with the same email in another case: got %v, want ErrConflict", err)
	}
	for _, key := range []string{"usr_1", "camille.martin@example.fr", "CAMILLE.MARTIN@example.fr"} {
		got, err := s.User(ctx, key)
		if err != nil {
			t.Fatalf("User(%s): %v", key, err)
		}
		if got.ID != "usr_1" || got.Role != auth.RoleStoreManager || !slices.Equal(got.Stores, u.Stores) ||
			got.PasswordHash != u.PasswordHash || !got.TOTP || !got.CreatedAt.Equal(t0) {
			t.Fatalf("User(%s) = %+v", key, got)
		}
	}
	if _, err := s.User(ctx, "nobody@example.fr"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("User(unknown) = %v, want ErrNotFound", err)
	}
	got, _ := s.User(ctx, "usr_1")
	got.Role, got.Stores, got.Disabled, got.FailedLogins, got.LockedUntil = auth.RoleAgent, nil, true, 3, t0.Add(time.Hour)
	got.UpdatedAt = t0.Add(time.Minute)
	if err := s.UpdateUser(ctx, got); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	after, _ := s.User(ctx, "usr_1")
	if after.Role != auth.RoleAgent || after.Stores != nil || !after.Disabled || after.FailedLogins != 3 ||
		!after.LockedUntil.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after UpdateUser: %+v", after)
	}
	if err := s.UpdateUser(ctx, &auth.User{ID: "usr_none"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateUser(unknown) = %v, want ErrNotFound", err)
	}
	_ = s.CreateUser(ctx, &auth.User{ID: "usr_0", Email: "alice@example.fr", Role: auth.RoleOwner, PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0})
	list, err := s.ListUsers(ctx)
	if err != nil || len(list) != 2 || list[0].Email != "alice@example.fr" {
		t.Fatalf("ListUsers = %v, %v; want alice then camille", list, err)
	}
}

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	// The first-start admin key is the owner key "key_admin".
	if err := s.AddAdminKey(ctx, "admin-hash", t0); err != nil {
		t.Fatal(err)
	}
	admin, err := s.APIKey(ctx, "key_admin")
	if err != nil || admin.Role != auth.RoleOwner || admin.Hash != "admin-hash" {
		t.Fatalf("APIKey(key_admin) = %+v, %v; want the owner key", admin, err)
	}
	k := &auth.APIKey{ID: "key_1", Name: "Lyon POS", Role: auth.RoleStoreStaff, Stores: []string{"lyon-01"}, Hash: "h1",
		Prefix: "pk_live_ab", CreatedBy: "user:usr_0", CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(24 * time.Hour)}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	if err := s.CreateAPIKey(ctx, k); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateAPIKey twice = %v, want ErrConflict", err)
	}
	got, err := s.APIKeyByHash(ctx, "h1")
	if err != nil || got.ID != "key_1" || got.Role != auth.RoleStoreStaff || !slices.Equal(got.Stores, []string{"lyon-01"}) ||
		!got.ExpiresAt.Equal(k.ExpiresAt) || !got.RevokedAt.IsZero() || got.CreatedBy != "user:usr_0" {
		t.Fatalf("APIKeyByHash = %+v, %v", got, err)
	}
	if _, err := s.APIKeyByHash(ctx, "h-unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("APIKeyByHash(unknown) = %v, want ErrNotFound", err)
	}
	got.Hash, got.Prefix, got.RotatedAt = "h2", "pk_live_cd", t0.Add(time.Hour)
	if err := s.UpdateAPIKey(ctx, got); err != nil {
		t.Fatalf("UpdateAPIKey (rotate): %v", err)
	}
	if _, err := s.APIKeyByHash(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the old hash after rotation: %v, want ErrNotFound", err)
	}
	got.RevokedAt = t0.Add(2 * time.Hour)
	if err := s.UpdateAPIKey(ctx, got); err != nil {
		t.Fatal(err)
	}
	rev, _ := s.APIKey(ctx, "key_1")
	if rev.Hash != "h2" || !rev.RevokedAt.Equal(t0.Add(2*time.Hour)) || rev.Active(t0.Add(3*time.Hour)) {
		t.Fatalf("after revocation: %+v", rev)
	}
	list, err := s.ListAPIKeys(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "key_admin" || list[1].ID != "key_1" {
		t.Fatalf("ListAPIKeys = %v, %v", list, err)
	}
	// A revoked admin key no longer passes IsAdminKey, and a store with one
	// makes no new one.
	admin.RevokedAt = t0.Add(time.Hour)
	if err := s.UpdateAPIKey(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.IsAdminKey(ctx, "admin-hash"); ok {
		t.Fatal("IsAdminKey of a revoked owner key = true")
	}
	if has, _ := s.HasAdminKey(ctx); !has {
		t.Fatal("HasAdminKey with a revoked owner key = false: serve would make another")
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, id := range []string{"s1", "s2", "s3"} {
		user := "usr_1"
		if id == "s3" {
			user = "usr_2"
		}
		ss := &auth.Session{ID: id, UserID: user, CSRF: "c-" + id, IP: "192.0.2.1", UserAgent: "test",
			CreatedAt: t0, ExpiresAt: t0.Add(time.Duration(i+1) * time.Hour)}
		if err := s.CreateSession(ctx, ss); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	got, err := s.Session(ctx, "s2")
	if err != nil || got.UserID != "usr_1" || got.CSRF != "c-s2" || !got.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("Session(s2) = %+v, %v", got, err)
	}
	if _, _, err := s.SessionUser(ctx, "s2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SessionUser of a session without its user = %v, want ErrNotFound", err)
	}
	u := &auth.User{ID: "usr_1", Email: "s@example.fr", Role: auth.RoleStoreStaff, Stores: []string{"lyon-01"}, PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	ss, su, err := s.SessionUser(ctx, "s2")
	if err != nil || ss.CSRF != "c-s2" || !ss.ExpiresAt.Equal(t0.Add(2*time.Hour)) || su.Email != "s@example.fr" ||
		su.Role != auth.RoleStoreStaff || !slices.Equal(su.Stores, []string{"lyon-01"}) {
		t.Fatalf("SessionUser(s2) = %+v, %+v, %v", ss, su, err)
	}
	if err := s.DeleteSession(ctx, "s2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "s2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Session after delete = %v, want ErrNotFound", err)
	}
	if n, err := s.DeleteUserSessions(ctx, "usr_1"); err != nil || n != 1 {
		t.Fatalf("DeleteUserSessions = %d, %v; want 1", n, err)
	}
	if n, err := s.PruneSessions(ctx, t0.Add(4*time.Hour)); err != nil || n != 1 {
		t.Fatalf("PruneSessions = %d, %v; want 1 (s3)", n, err)
	}
}

func testAuditLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	entries := []*auth.AuditEntry{
		{At: t0, Actor: "key:key_admin", Action: "POST /api/v1/segments", Resource: "segments", Status: 200,
			IP: "192.0.2.1", After: json.RawMessage(`{"id":"vip"}`)},
		{At: t0.Add(time.Minute), Actor: "user:usr_1", Action: "PUT /api/v1/templates/{id}", Resource: "templates", ResourceID: "welcome",
			Status: 200, Before: json.RawMessage(`{"subject":"Hi"}`), After: json.RawMessage(`{"subject":"Bonjour"}`)},
		{At: t0.Add(2 * time.Minute), Actor: "user:usr_1", Action: "GET /api/v1/segments/{id}/members", Resource: "segments", ResourceID: "vip", Status: 200},
	}
	for _, e := range entries {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit: %v", err)
		}
	}
	if entries[0].ID == 0 || entries[1].ID <= entries[0].ID {
		t.Fatalf("ids = %d, %d; want increasing", entries[0].ID, entries[1].ID)
	}
	all, err := s.ListAudit(ctx, auth.AuditQuery{})
	if err != nil || len(all) != 3 || all[0].ID != entries[2].ID {
		t.Fatalf("ListAudit = %v, %v; want 3, newest first", all, err)
	}
	if string(all[1].Before) != `{"subject":"Bonjour"}` && string(all[1].After) != `{"subject":"Bonjour"}` {
		t.Fatalf("before/after lost: %s / %s", all[1].Before, all[1].After)
	}
	if all[0].Before != nil || !all[2].At.Equal(t0) || all[2].IP != "192.0.2.1" {
		t.Fatalf("entries = %+v", all)
	}
	for _, c := range []struct {
		q    auth.AuditQuery
		want int
	}{
		{auth.AuditQuery{Actor: "user:usr_1"}, 2},
		{auth.AuditQuery{Resource: "segments"}, 2},
		{auth.AuditQuery{Resource: "templates", ResourceID: "welcome"}, 1},
		{auth.AuditQuery{Action: "POST /api/v1/segments"}, 1},
		{auth.AuditQuery{Since: t0.Add(time.Minute)}, 2},
		{auth.AuditQuery{Until: t0.Add(time.Minute)}, 1},
		{auth.AuditQuery{Before: entries[2].ID, Limit: 1}, 1},
	} {
		got, err := s.ListAudit(ctx, c.q)
		if err != nil || len(got) != c.want {
			t.Errorf("ListAudit(%+v) = %d entries, %v; want %d", c.q, len(got), err, c.want)
		}
	}
	if n, err := s.PruneAudit(ctx, t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("PruneAudit = %d, %v; want 1", n, err)
	}
}
