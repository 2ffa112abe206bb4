package cli

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/privacy"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
)

type profilesExportCmd struct {
	profileRef
	Output string `short:"o" help:"Where to write the archive (a zip of JSON files with a manifest); - for standard output. Default: parcours-profile-ID.zip in the current directory."`
}

// Run writes the access request's archive. It only reads, so it runs
// beside a running serve too.
func (c *profilesExportCmd) Run(g *config.Globals, e *env) error {
	st, p, err := c.open(e, g)
	if err != nil {
		return err
	}
	defer st.Close()
	rules, err := g.Rules()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	m, err := (&privacy.Service{Store: st, Rules: rules}).Export(e.ctx, p.ID, &buf)
	if err != nil {
		return err
	}
	out := c.Output
	if out == "" {
		out = "parcours-profile-" + strconv.FormatInt(m.ProfileID, 10) + ".zip"
	}
	if out == "-" {
		_, err := e.stdout.Write(buf.Bytes())
		return err
	}
	// 0600: the archive holds everything about a person.
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write the archive: %w", err)
	}
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"file": out, "manifest": m})
	}
	n := 0
	for _, f := range m.Files {
		n += f.Count
	}
	fmt.Fprintf(e.stdout, "Wrote %s: %d files, %d records about profile %d (manifest.json lists them).\n", out, len(m.Files), n, m.ProfileID)
	return nil
}

type profilesEraseCmd struct {
	profileRef
	Reason string `help:"Why (a ticket number, 'DSAR of 2026-12-01'): kept with the erasure's record, which names nobody."`
	Yes    bool   `help:"Do not ask: erasure cannot be undone."`
}

// Run erases the person: through serve when it runs on the data directory
// (it owns the derived state), or on the store directly when it is
// stopped.
func (c *profilesEraseCmd) Run(g *config.Globals, e *env) error {
	if !c.Yes {
		return errors.New("erasure cannot be undone: add --yes to erase " + c.Profile)
	}
	st, p, err := c.open(e, g)
	if err != nil {
		return err
	}
	defer st.Close()
	if s := findServer(g.DataDir); s != nil {
		st.Close()
		return c.throughServer(g, e, s, p.ID)
	}
	release, err := lockDataDir(g.DataDir, "erase through it: curl -X DELETE -H \"Authorization: Bearer $(cat "+
		filepath.Join(absPath(g.DataDir), server.AdminKeyFile)+")\" "+defaultServer+"/api/v1/profiles/"+strconv.FormatInt(p.ID, 10))
	if err != nil {
		return err
	}
	defer release()
	pl, err := offlinePipeline(e, g, st)
	if err != nil {
		return err
	}
	svc := *pl.Privacy
	svc.Behind = nil // the stages are stopped: nothing to wait for
	rec, err := svc.Erase(e.ctx, p.ID, c.Reason)
	if err := errors.Join(err, pl.Close()); err != nil {
		return err
	}
	return c.print(g, e, rec)
}

func (c *profilesEraseCmd) throughServer(g *config.Globals, e *env, s *serverInfo, id int64) error {
	api, err := (&remote{Server: s.URL}).client(g)
	if err != nil {
		return err
	}
	var out struct {
		Erasure *store.Erasure `json:"erasure"`
	}
	path := "/api/v1/profiles/" + strconv.FormatInt(id, 10) + "?reason=" + url.QueryEscape(c.Reason)
	if err := api.call(e.ctx, "DELETE", path, nil, &out); err != nil {
		return err
	}
	return c.print(g, e, out.Erasure)
}

func (c *profilesEraseCmd) print(g *config.Globals, e *env, rec *store.Erasure) error {
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"erasure": rec})
	}
	var rows int64
	for _, n := range rec.Counts {
		rows += n
	}
	fmt.Fprintf(e.stdout, "Erased %s: erasure %d, %d rows removed or anonymised in %d tables (%d events rewritten in the log).\n",
		c.Profile, rec.ID, rows, len(rec.Counts), rec.Counts["events"])
	return nil
}

// retentionFlags are serve's retention policy (docs/security.md#retention):
// periods in days, 0 keeping that kind forever.
type retentionFlags struct {
	RetentionEvery      time.Duration `help:"How often the retention policy is applied in the background (0: never; POST /api/v1/retention/run applies it on demand)." env:"PARCOURS_RETENTION_EVERY" default:"1h"`
	RetainEvents        int           `help:"Days raw events stay in the log (CNIL: 13 months for tracker data); 0 keeps them forever." env:"PARCOURS_RETAIN_EVENTS" default:"395"`
	RetainSource        []string      `help:"A source's own event retention, as SOURCE=DAYS (its id or name), e.g. 'POS Lyon=1095'." env:"PARCOURS_RETAIN_SOURCE" placeholder:"SOURCE=DAYS"`
	RetainAnonymous     int           `help:"Days a visitor never identified (a profile with only anonymous ids) is kept after their last event; 0: forever." env:"PARCOURS_RETAIN_ANONYMOUS" default:"90"`
	RetainMessageBodies int           `help:"Days the rendered contents of a sent message are kept (its record stays); 0: forever." env:"PARCOURS_RETAIN_MESSAGE_BODIES" default:"183"`
	RetainRejections    int           `help:"Days refused events (which may hold personal data) are kept; 0: forever." env:"PARCOURS_RETAIN_REJECTIONS" default:"30"`
	RetainRequestKeys   int           `help:"Days the API remembers an Idempotency-Key and its answer (a retry after that is a new request); 0: forever." env:"PARCOURS_RETAIN_REQUEST_KEYS" default:"30"`
}

// policy returns the flags as a privacy.Policy.
func (f *retentionFlags) policy() (privacy.Policy, error) {
	days := func(flag string, n int) (time.Duration, error) {
		if n < 0 {
			return 0, fmt.Errorf("--%s %d: must be a number of days, or 0 to keep forever", flag, n)
		}
		return time.Duration(n) * privacy.Day, nil
	}
	var p privacy.Policy
	var err error
	if p.Events, err = days("retain-events", f.RetainEvents); err != nil {
		return p, err
	}
	if p.AnonymousProfiles, err = days("retain-anonymous", f.RetainAnonymous); err != nil {
		return p, err
	}
	if p.MessageBodies, err = days("retain-message-bodies", f.RetainMessageBodies); err != nil {
		return p, err
	}
	if p.Rejections, err = days("retain-rejections", f.RetainRejections); err != nil {
		return p, err
	}
	if p.RequestKeys, err = days("retain-request-keys", f.RetainRequestKeys); err != nil {
		return p, err
	}
	for _, s := range f.RetainSource {
		name, n, ok := strings.Cut(s, "=")
		d, err := strconv.Atoi(strings.TrimSpace(n))
		if !ok || name == "" || err != nil || d < 0 {
			return p, fmt.Errorf("--retain-source %q: write SOURCE=DAYS, e.g. 'POS Lyon=1095' (0 keeps its events forever)", s)
		}
		if p.EventsBySource == nil {
			p.EventsBySource = map[string]time.Duration{}
		}
		p.EventsBySource[strings.TrimSpace(name)] = time.Duration(d) * privacy.Day
	}
	if f.RetentionEvery < 0 {
		return p, fmt.Errorf("--retention-every %s: must be a duration such as 1h, or 0 for never", f.RetentionEvery)
	}
	return p, nil
}
