package auth_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/auth"
)

// TestRoleTable checks the table against what issue 19 asks of each role.
func TestRoleTable(t *testing.T) {
	for _, c := range []struct {
		role      auth.Role
		may, mayn []auth.Permission
	}{
		{auth.RoleOwner, auth.AllPermissions, nil},
		{auth.RoleAdmin, auth.AllPermissions, nil},
		{auth.RoleMarketer, []auth.Permission{auth.PermSegmentsWrite, auth.PermJourneysWrite, auth.PermTemplatesWrite, auth.PermMessagesSend},
			[]auth.Permission{auth.PermUsersWrite, auth.PermKeysWrite, auth.PermAuditRead, auth.PermProfilesErase}},
		{auth.RoleAnalyst, []auth.Permission{auth.PermMeasureRead, auth.PermMeasureWrite, auth.PermSegmentsRead},
			[]auth.Permission{auth.PermProfilesRead, auth.PermEventsRead, auth.PermSegmentsMembers, auth.PermSegmentsWrite, auth.PermMessagesSend}},
		{auth.RoleStoreManager, []auth.Permission{auth.PermTasksWrite, auth.PermStockWrite, auth.PermOrdersWrite, auth.PermProfilesRead},
			[]auth.Permission{auth.PermSegmentsWrite, auth.PermProfilesExport, auth.PermCatalogWrite}},
		{auth.RoleStoreStaff, []auth.Permission{auth.PermTasksWrite, auth.PermReservationsWrite, auth.PermOrdersRead},
			[]auth.Permission{auth.PermStockWrite, auth.PermOrdersWrite, auth.PermSegmentsRead}},
		{auth.RoleAgent, []auth.Permission{auth.PermProfilesRead, auth.PermProfilesWrite, auth.PermMessagesRead},
			[]auth.Permission{auth.PermProfilesExport, auth.PermSegmentsMembers, auth.PermEventsRead, auth.PermMessagesSend}},
		{auth.RoleReadOnly, []auth.Permission{auth.PermProfilesRead, auth.PermSegmentsRead, auth.PermMeasureRead},
			[]auth.Permission{auth.PermProfilesExport, auth.PermSegmentsMembers, auth.PermSegmentsWrite, auth.PermUsersRead}},
	} {
		for _, p := range c.may {
			if !c.role.Can(p) {
				t.Errorf("%s cannot %s", c.role, p)
			}
		}
		for _, p := range c.mayn {
			if c.role.Can(p) {
				t.Errorf("%s can %s", c.role, p)
			}
		}
		if !c.role.Can(auth.PermSelf) {
			t.Errorf("%s lacks self", c.role)
		}
	}
	// Only read_only, agent and analyst read nothing in bulk and change
	// nothing that is not theirs; no role but owner and admin touches
	// people, keys or the audit log.
	for _, r := range auth.Roles[2:] {
		for _, p := range []auth.Permission{auth.PermUsersRead, auth.PermUsersWrite, auth.PermKeysRead, auth.PermKeysWrite, auth.PermAuditRead} {
			if r.Can(p) {
				t.Errorf("%s can %s", r, p)
			}
		}
	}
	for _, p := range auth.RoleReadOnly.Permissions() {
		if p != auth.PermSelf && !strings.HasSuffix(string(p), ":read") {
			t.Errorf("read_only can %s", p)
		}
	}
	if auth.Role("boss").Can(auth.PermSelf) || auth.RoleOwner.Can("nonsense") {
		t.Error("an unknown role or permission is granted")
	}
}

func TestMayGrant(t *testing.T) {
	for _, c := range []struct {
		by, grant auth.Role
		ok        bool
	}{
		{auth.RoleOwner, auth.RoleOwner, true},
		{auth.RoleAdmin, auth.RoleOwner, false},
		{auth.RoleAdmin, auth.RoleAdmin, true},
		{auth.RoleAdmin, auth.RoleStoreStaff, true},
		{auth.RoleStoreManager, auth.RoleStoreStaff, true},
		{auth.RoleStoreStaff, auth.RoleStoreManager, false},
		{auth.RoleMarketer, auth.RoleAnalyst, false}, // analysts hold measure:write, marketers do not
	} {
		if got := c.by.MayGrant(c.grant); got != c.ok {
			t.Errorf("%s grants %s: %v, want %v", c.by, c.grant, got, c.ok)
		}
	}
	if _, err := auth.ParseRole("boss"); err == nil || !strings.Contains(err.Error(), "store_manager") {
		t.Errorf("ParseRole(boss) = %v; want the list of roles", err)
	}
}

func TestPasswords(t *testing.T) {
	h, err := auth.HashPassword("correct horse battery")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("HashPassword = %q, %v", h, err)
	}
	h2, _ := auth.HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterz": false, "": false} {
		if ok, err := auth.CheckPassword(h, pw); ok != want || err != nil {
			t.Errorf("CheckPassword(%q) = %v, %v", pw, ok, err)
		}
	}
	if _, err := auth.HashPassword("short"); err == nil {
		t.Error("a 5-character password accepted")
	}
	if _, err := auth.CheckPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Error("a hash of another kind checked")
	}
}

func TestTOTP(t *testing.T) {
	secret, url, err := auth.NewTOTP("camille@example.fr")
	if err != nil || !strings.HasPrefix(url, "otpauth://totp/Parcours:camille@example.fr") {
		t.Fatalf("NewTOTP = %q, %v", url, err)
	}
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	code, _ := auth.TOTPCode(secret, at)
	for d, want := range map[time.Duration]bool{0: true, 30 * time.Second: true, -30 * time.Second: true, 90 * time.Second: false} {
		if got := auth.CheckTOTP(secret, code, at.Add(d)); got != want {
			t.Errorf("code checked %v later: %v, want %v", d, got, want)
		}
	}
}

func TestKeys(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	k, secret, err := auth.NewAPIKey("POS", auth.RoleStoreStaff, []string{"lyon-01"}, now.Add(time.Hour), "key:key_admin", now)
	if err != nil || !strings.HasPrefix(secret, "pk_live_") || len(secret) < 40 || k.Hash != auth.HashSecret(secret) || strings.Contains(k.Hash, secret) {
		t.Fatalf("NewAPIKey = %+v %q %v", k, secret, err)
	}
	if !strings.HasPrefix(secret, k.Prefix) || len(k.Prefix) > 12 {
		t.Errorf("prefix %q of %q", k.Prefix, secret)
	}
	if !k.Active(now) || k.Active(now.Add(time.Hour)) {
		t.Error("Active around the expiry")
	}
	next, _ := auth.RotateAPIKey(k, now)
	if next == secret || k.Hash != auth.HashSecret(next) || !k.RotatedAt.Equal(now) {
		t.Errorf("rotation: %+v", k)
	}
	if !auth.SameSecret("abc", "abc") || auth.SameSecret("abc", "abd") || auth.SameSecret("abc", "ab") {
		t.Error("SameSecret")
	}
	p := &auth.Principal{Kind: "key", ID: k.ID, Role: auth.RoleStoreStaff, Stores: k.Stores}
	if !p.InStore("lyon-01") || p.InStore("paris-02") || !(&auth.Principal{Role: auth.RoleAdmin}).InStore("paris-02") {
		t.Error("InStore")
	}
	if !slices.Contains(auth.RoleStoreStaff.Permissions(), auth.PermTasksWrite) {
		t.Error("Permissions")
	}
}
