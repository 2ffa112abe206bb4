package cli

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/auth"
	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/server"
)

// usersCmd manages the people who sign in to the console.
type usersCmd struct {
	Create  usersCreateCmd  `cmd:"" help:"Create a user with a role (and stores for store roles)."`
	List    usersListCmd    `cmd:"" help:"List the users with their roles and status."`
	Disable usersDisableCmd `cmd:"" help:"Disable a user: their sessions end, their logins are refused."`
	Enable  usersEnableCmd  `cmd:"" help:"Enable a disabled or locked user again."`
	SetRole usersSetRoleCmd `cmd:"" name:"set-role" help:"Change a user's role (and stores)."`
}

type usersCreateCmd struct {
	remote
	Email    string   `arg:"" help:"The user's email: what they log in with."`
	Role     string   `help:"owner, admin, marketer, analyst, store_manager, store_staff, agent or read_only." required:""`
	Name     string   `help:"The display name (default: the email's local part)."`
	Stores   []string `help:"The stores of a store_manager or store_staff (location ids, comma-separated)."`
	Password string   `help:"The password (at least 12 characters); default: a random one, printed once." env:"PARCOURS_USER_PASSWORD"`
}

func (c *usersCreateCmd) Help() string {
	return `The user logs in to the console (POST /api/v1/login) with the email and password, and may
then enrol an authenticator app (POST /api/v1/me/totp). docs/security.md lists what each role may do.

  parcours users create camille@example.fr --role marketer
  parcours users create lea@example.fr --role store_manager --stores lyon-01,lyon-02`
}

func (c *usersCreateCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	password, shown := c.Password, false
	if password == "" {
		if password, err = auth.NewSecret(""); err != nil {
			return err
		}
		password, shown = password[:20], true
	}
	var u auth.User
	body := map[string]any{"email": c.Email, "name": c.Name, "role": c.Role, "stores": c.Stores, "password": password}
	if err := api.call(e.ctx, "POST", "/api/v1/users", body, &u); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, u)
	}
	fmt.Fprintf(e.stdout, "User %s (%s), role %s%s\n", u.Email, u.ID, u.Role, storesNote(u.Stores))
	if shown {
		fmt.Fprintf(e.stdout, "Password: %s\n  this is the only time it is printed: give it to the user, who logs in with it\n", password)
	}
	return nil
}

func storesNote(stores []string) string {
	if len(stores) == 0 {
		return ""
	}
	return " on " + strings.Join(stores, ", ")
}

type usersListCmd struct {
	remote
}

func (c *usersListCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out struct {
		Users []*auth.User `json:"users"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/users", nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	if len(out.Users) == 0 {
		fmt.Fprintln(e.stdout, "No users yet: parcours users create EMAIL --role admin")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tSTORES\tTOTP\tSTATUS\tID")
	for _, u := range out.Users {
		status := "active"
		switch {
		case u.Disabled:
			status = "disabled"
		case !u.LockedUntil.IsZero():
			status = "locked until " + u.LockedUntil.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%s\n", u.Email, u.Name, u.Role, strings.Join(u.Stores, ","), u.TOTP, status, u.ID)
	}
	return tw.Flush()
}

type usersDisableCmd struct {
	remote
	User string `arg:"" help:"The user's email or id."`
}

func (c *usersDisableCmd) Run(g *config.Globals, e *env) error {
	return userAction(g, e, c.remote, c.User, "disable", "disabled; their sessions ended")
}

type usersEnableCmd struct {
	remote
	User string `arg:"" help:"The user's email or id."`
}

func (c *usersEnableCmd) Run(g *config.Globals, e *env) error {
	return userAction(g, e, c.remote, c.User, "enable", "enabled")
}

func userAction(g *config.Globals, e *env, r remote, user, action, done string) error {
	api, err := r.client(g)
	if err != nil {
		return err
	}
	var u auth.User
	if err := api.call(e.ctx, "POST", "/api/v1/users/"+url.PathEscape(user)+"/"+action, nil, &u); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, u)
	}
	fmt.Fprintf(e.stdout, "User %s %s\n", u.Email, done)
	return nil
}

type usersSetRoleCmd struct {
	remote
	User   string   `arg:"" help:"The user's email or id."`
	Role   string   `arg:"" help:"The new role."`
	Stores []string `help:"The stores of a store_manager or store_staff."`
}

func (c *usersSetRoleCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var u auth.User
	if err := api.call(e.ctx, "PUT", "/api/v1/users/"+url.PathEscape(c.User)+"/role", map[string]any{"role": c.Role, "stores": c.Stores}, &u); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, u)
	}
	fmt.Fprintf(e.stdout, "User %s now has the role %s%s\n", u.Email, u.Role, storesNote(u.Stores))
	return nil
}

// keysCmd manages the management API's keys.
type keysCmd struct {
	Create keysCreateCmd `cmd:"" help:"Create an API key with a role, stores and an expiry: printed once."`
	List   keysListCmd   `cmd:"" help:"List the API keys (never their secrets)."`
	Revoke keysRevokeCmd `cmd:"" help:"Revoke an API key: it opens nothing from now on."`
	Rotate keysRotateCmd `cmd:"" help:"Give an API key a new secret (key_admin: the admin-key file is rewritten)."`
}

type keysCreateCmd struct {
	remote
	Name      string        `arg:"" help:"What the key is for, e.g. \"Lyon POS\"."`
	Role      string        `help:"The key's role (docs/security.md)." required:""`
	Stores    []string      `help:"The stores of a store_manager or store_staff key."`
	ExpiresIn time.Duration `help:"When the key stops working, e.g. 720h (default: never)."`
}

func (c *keysCreateCmd) Help() string {
	return `The key is printed once: Parcours keeps only its hash. Send it as 'Authorization: Bearer KEY'.

  parcours keys create "Lyon POS" --role store_staff --stores lyon-01 --expires-in 2160h
  parcours keys create "BI export" --role analyst`
}

func (c *keysCreateCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	body := map[string]any{"name": c.Name, "role": c.Role, "stores": c.Stores}
	if c.ExpiresIn > 0 {
		body["expires_in"] = c.ExpiresIn.String()
	}
	var k struct {
		auth.APIKey
		Secret string `json:"secret"`
	}
	if err := api.call(e.ctx, "POST", "/api/v1/keys", body, &k); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, k)
	}
	fmt.Fprintf(e.stdout, "Key %s (%s), role %s%s%s\n", k.ID, k.Name, k.Role, storesNote(k.Stores), expiresNote(k.ExpiresAt))
	fmt.Fprintf(e.stdout, "Secret: %s\n  this is the only time it is printed: Parcours keeps its hash only\n", k.Secret)
	return nil
}

func expiresNote(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ", expires " + t.Format(time.RFC3339)
}

type keysListCmd struct {
	remote
}

func (c *keysListCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var out struct {
		Keys []*auth.APIKey `json:"keys"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/keys", nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tROLE\tSTORES\tPREFIX\tEXPIRES\tSTATUS")
	now := time.Now()
	for _, k := range out.Keys {
		status, expires := "active", ""
		if !k.ExpiresAt.IsZero() {
			expires = k.ExpiresAt.Format(time.RFC3339)
		}
		switch {
		case !k.RevokedAt.IsZero():
			status = "revoked"
		case !k.Active(now):
			status = "expired"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s…\t%s\t%s\n", k.ID, k.Name, k.Role, strings.Join(k.Stores, ","), k.Prefix, expires, status)
	}
	return tw.Flush()
}

type keysRevokeCmd struct {
	remote
	ID string `arg:"" help:"The key's id (parcours keys list)."`
}

func (c *keysRevokeCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var k auth.APIKey
	if err := api.call(e.ctx, "POST", "/api/v1/keys/"+url.PathEscape(c.ID)+"/revoke", nil, &k); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, k)
	}
	fmt.Fprintf(e.stdout, "Key %s (%s) revoked\n", k.ID, k.Name)
	return nil
}

type keysRotateCmd struct {
	remote
	ID string `arg:"" help:"The key's id; key_admin is the first-start owner key." default:"key_admin"`
}

func (c *keysRotateCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var k struct {
		auth.APIKey
		Secret string `json:"secret"`
	}
	if err := api.call(e.ctx, "POST", "/api/v1/keys/"+url.PathEscape(c.ID)+"/rotate", nil, &k); err != nil {
		return err
	}
	// The admin-key file holds the key the CLI uses: when it was this
	// one, it gets the new secret, or the CLI would lock itself out.
	file := filepath.Join(g.DataDir, server.AdminKeyFile)
	rewrote := false
	if old, err := server.ReadAdminKey(g.DataDir); err == nil && old == api.key {
		if err := os.WriteFile(file, []byte(k.Secret+"\n"), 0o600); err != nil {
			return fmt.Errorf("key %s rotated, but %s was not rewritten: %w; the new secret is %s", k.ID, file, err, k.Secret)
		}
		rewrote = true
	}
	if g.JSON {
		return printJSON(e.stdout, k)
	}
	fmt.Fprintf(e.stdout, "Key %s (%s) rotated: the old secret opens nothing from now on\n", k.ID, k.Name)
	if rewrote {
		fmt.Fprintf(e.stdout, "New secret saved to %s\n", file)
	} else {
		fmt.Fprintf(e.stdout, "Secret: %s\n  this is the only time it is printed\n", k.Secret)
	}
	return nil
}

// auditCmd reads the audit log.
type auditCmd struct {
	List auditListCmd `cmd:"" help:"List the audit log, newest first, filtered."`
}

type auditListCmd struct {
	remote
	Actor      string `help:"Who: user:ID or key:ID."`
	Resource   string `help:"What kind of thing: segments, journeys, users, keys ..."`
	ResourceID string `name:"id" help:"Which one."`
	Action     string `help:"The route or act, e.g. \"POST /api/v1/segments\" or session.login_failed."`
	Since      string `help:"From this time (RFC 3339)."`
	Until      string `help:"Before this time (RFC 3339)."`
	Limit      int    `help:"How many entries at most (1 to 1000)." default:"100"`
	Before     int64  `help:"Older than this entry id (the next page)."`
}

func (c *auditListCmd) Run(g *config.Globals, e *env) error {
	api, err := c.client(g)
	if err != nil {
		return err
	}
	q := url.Values{"limit": {fmt.Sprint(c.Limit)}}
	for k, v := range map[string]string{"actor": c.Actor, "resource": c.Resource, "resource_id": c.ResourceID, "action": c.Action, "since": c.Since, "until": c.Until} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if c.Before > 0 {
		q.Set("before", fmt.Sprint(c.Before))
	}
	var out struct {
		Entries    []*auth.AuditEntry `json:"entries"`
		NextBefore int64              `json:"next_before"`
	}
	if err := api.call(e.ctx, "GET", "/api/v1/audit?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAT\tACTOR\tACTION\tRESOURCE\tSTATUS\tFROM")
	for _, a := range out.Entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", a.ID, a.At.Format(time.RFC3339), a.Actor, a.Action,
			strings.TrimSuffix(a.Resource+"/"+a.ResourceID, "/"), a.Status, a.IP)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if out.NextBefore > 0 {
		fmt.Fprintf(e.stdout, "Older entries: parcours audit list --before %d (with the same filters)\n", out.NextBefore)
	}
	return nil
}
