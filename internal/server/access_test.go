package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/server"
)

// bearer is the header of an API key.
func bearer(key string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
}

// login posts credentials and returns the status, the session cookie
// and the answer.
func (h *harness) login(email, password, code string) (int, *http.Cookie, map[string]any) {
	h.t.Helper()
	body := `{"email":"` + email + `","password":"` + password + `","totp":"` + code + `"}`
	status, header, out := h.do("POST", "/api/v1/login", []byte(body), map[string]string{"Content-Type": "application/json"})
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: header}).Cookies() {
		if c.Name == "parcours_session" {
			cookie = c
		}
	}
	return status, cookie, out
}

// withSession is the header of a request made with a session cookie
// (and its CSRF token, when csrf is not "").
func withSession(c *http.Cookie, csrf string) map[string]string {
	h := map[string]string{"Cookie": c.Name + "=" + c.Value, "Content-Type": "application/json"}
	if csrf != "" {
		h["X-CSRF-Token"] = csrf
	}
	return h
}

func errorCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (h *harness) createUser(email, role, stores string) {
	h.t.Helper()
	body := `{"email":"` + email + `","name":"Test","role":"` + role + `","password":"correct horse battery"` + stores + `}`
	if code, _, out := h.do("POST", "/api/v1/users", []byte(body), bearer(h.admin)); code != 201 {
		h.t.Fatalf("create user %s: %d %v", email, code, out)
	}
}

// TestSessions: login, cookie attributes, CSRF on changes, lockout after
// failures, rate limit per address, expiry, logout and logout everywhere,
// disabling a user, on both engines.
func TestSessions(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		h.createUser("Camille@Example.fr", "marketer", "")

		code, c, out := h.login("camille@example.fr", "correct horse battery", "")
		if code != 200 || c == nil {
			t.Fatalf("login: %d %v", code, out)
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.Path != "/" || !c.Expires.Equal(now.Add(12*time.Hour).Truncate(time.Second)) {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, not Secure over plain HTTP, 12h", c)
		}
		csrf, _ := out["csrf_token"].(string)
		if out["role"] != "marketer" || csrf == "" {
			t.Fatalf("login answer %v", out)
		}
		if code, _, me := h.do("GET", "/api/v1/me", nil, withSession(c, "")); code != 200 || me["id"] != out["id"] || me["kind"] != "user" {
			t.Fatalf("me: %d %v", code, me)
		}
		// A change with the cookie needs the CSRF token.
		seg := []byte(`{"id":"vip","name":"VIP","where":{"trait":"vip","equals":true}}`)
		if code, _, out := h.do("POST", "/api/v1/segments", seg, withSession(c, "")); code != 403 || errorCode(out) != "csrf" {
			t.Errorf("change without CSRF: %d %v", code, out)
		}
		if code, _, out := h.do("POST", "/api/v1/segments", seg, withSession(c, "wrong")); code != 403 || errorCode(out) != "csrf" {
			t.Errorf("change with a wrong CSRF token: %d %v", code, out)
		}
		if code, _, out := h.do("POST", "/api/v1/segments", seg, withSession(c, csrf)); code == 403 || code == 401 {
			t.Errorf("change with the CSRF token: %d %v", code, out)
		}
		// The role holds for sessions too.
		if code, _, out := h.do("GET", "/api/v1/users", nil, withSession(c, "")); code != 403 || !strings.Contains(out["error"].(map[string]any)["message"].(string), "users:read") {
			t.Errorf("marketer lists users: %d %v", code, out)
		}

		// Five failures lock the account for 15 minutes, the right
		// password included; the answer never says whether the email exists.
		for i := range 5 {
			if code, _, out := h.login("camille@example.fr", "wrong password!!", ""); code != 401 || errorCode(out) != "bad_credentials" {
				t.Fatalf("failure %d: %d %v", i+1, code, out)
			}
		}
		if code, _, out := h.login("camille@example.fr", "correct horse battery", ""); code != 429 || errorCode(out) != "account_locked" {
			t.Fatalf("locked account: %d %v", code, out)
		}
		if code, _, out := h.login("nobody@example.fr", "correct horse battery", ""); code != 401 || errorCode(out) != "bad_credentials" {
			t.Errorf("unknown email: %d %v", code, out)
		}
		h.clock.Advance(16 * time.Minute)
		code, c2, _ := h.login("camille@example.fr", "correct horse battery", "")
		if code != 200 {
			t.Fatalf("login after the lockout: %d", code)
		}
		// One address gets 10 attempts a minute.
		limited := false
		for range 12 {
			if code, _, out := h.login("x@example.fr", "whatever it is!", ""); code == 429 && errorCode(out) == "too_many_logins" {
				limited = true
				break
			}
		}
		if !limited {
			t.Error("12 logins from one address in a minute: never refused")
		}
		h.clock.Advance(2 * time.Minute)

		// Logout everywhere ends both sessions.
		if code, _, out := h.do("POST", "/api/v1/logout/everywhere", nil, withSession(c2, "")); code != 403 {
			t.Errorf("logout everywhere without CSRF: %d %v", code, out)
		}
		_, _, me2 := h.do("GET", "/api/v1/me", nil, withSession(c2, ""))
		if code, _, out := h.do("POST", "/api/v1/logout/everywhere", nil, withSession(c2, me2["csrf_token"].(string))); code != 200 || out["sessions_ended"] != 2.0 {
			t.Errorf("logout everywhere: %d %v", code, out)
		}
		for _, ck := range []*http.Cookie{c, c2} {
			if code, _, _ := h.do("GET", "/api/v1/me", nil, withSession(ck, "")); code != 401 {
				t.Errorf("a session after logout everywhere: %d", code)
			}
		}

		// Sessions expire after 12 hours.
		_, c3, _ := h.login("camille@example.fr", "correct horse battery", "")
		h.clock.Advance(12*time.Hour + time.Second)
		if code, _, out := h.do("GET", "/api/v1/me", nil, withSession(c3, "")); code != 401 || !strings.Contains(out["error"].(map[string]any)["message"].(string), "expired") {
			t.Errorf("an expired session: %d %v", code, out)
		}

		// Disabling a user ends their sessions and refuses their logins.
		_, c4, _ := h.login("camille@example.fr", "correct horse battery", "")
		if code, _, out := h.do("POST", "/api/v1/users/camille@example.fr/disable", nil, bearer(h.admin)); code != 200 || out["disabled"] != true {
			t.Fatalf("disable: %d %v", code, out)
		}
		if code, _, _ := h.do("GET", "/api/v1/me", nil, withSession(c4, "")); code != 401 {
			t.Errorf("the session of a disabled user: %d", code)
		}
		if code, _, _ := h.login("camille@example.fr", "correct horse battery", ""); code != 401 {
			t.Errorf("a disabled user logs in: %d", code)
		}
	}, noRateLimit)
}

// TestTOTP: a user enrols an authenticator app; logins then need its code.
func TestTOTP(t *testing.T) {
	onEngines(t, func(t *testing.T, h *harness, _ engine) {
		h.createUser("agent@example.fr", "agent", "")
		_, c, out := h.login("agent@example.fr", "correct horse battery", "")
		csrf := out["csrf_token"].(string)
		code, _, enrol := h.do("POST", "/api/v1/me/totp", nil, withSession(c, csrf))
		secret, _ := enrol["secret"].(string)
		if code != 200 || secret == "" || !strings.HasPrefix(enrol["url"].(string), "otpauth://totp/") {
			t.Fatalf("enrol: %d %v", code, enrol)
		}
		if code, _, out := h.do("POST", "/api/v1/me/totp", []byte(`{"secret":"`+secret+`","code":"000000"}`), withSession(c, csrf)); code != 400 {
			t.Errorf("enrol with a wrong code: %d %v", code, out)
		}
		good, _ := auth.TOTPCode(secret, h.clock.Now())
		if code, _, out := h.do("POST", "/api/v1/me/totp", []byte(`{"secret":"`+secret+`","code":"`+good+`"}`), withSession(c, csrf)); code != 200 || out["totp"] != true {
			t.Fatalf("enrol: %d %v", code, out)
		}
		if code, _, out := h.login("agent@example.fr", "correct horse battery", ""); code != 401 || errorCode(out) != "totp_required" {
			t.Errorf("login without the code: %d %v", code, out)
		}
		h.clock.Advance(time.Minute)
		good, _ = auth.TOTPCode(secret, h.clock.Now())
		if code, _, out := h.login("agent@example.fr", "correct horse battery", good); code != 200 {
			t.Errorf("login with the code: %d %v", code, out)
		}
	}, noRateLimit)
}

// TestTrustProxy: behind a trusted proxy, the login limit counts the
// client's address from X-Forwarded-For, and the audit log records it;
// without the option the header is ignored.
func TestTrustProxy(t *testing.T) {
	for _, trust := range []bool{true, false} {
		h := newHarness(t, func(o *server.Options) { o.Access.TrustProxy = trust })
		refused := 0
		for i := range 12 {
			header := map[string]string{"Content-Type": "application/json", "X-Forwarded-For": fmt.Sprintf("203.0.113.%d, 10.0.0.1", i)}
			code, _, _ := h.do("POST", "/api/v1/login", []byte(`{"email":"x@example.fr","password":"whatever it is!"}`), header)
			if code == 429 {
				refused++
			}
		}
		if trust && refused != 0 || !trust && refused == 0 {
			t.Errorf("trust proxy %v: %d of 12 logins from 12 forwarded addresses refused", trust, refused)
		}
		entries := h.auditEntries("action=session.login_failed&limit=1")
		if want := map[bool]string{true: "203.0.113.", false: "127.0.0.1"}[trust]; len(entries) != 1 || !strings.HasPrefix(entries[0]["ip"].(string), want) {
			t.Errorf("trust proxy %v: audit entries %v, want ip %s…", trust, entries, want)
		}
	}
}
