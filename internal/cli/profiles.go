package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/identity"
	"github.com/parcours/parcours/internal/pipeline"
	"github.com/parcours/parcours/internal/profile"
	"github.com/parcours/parcours/internal/server"
	"github.com/parcours/parcours/internal/store"
)

type profilesCmd struct {
	Get      profilesGetCmd      `cmd:"" help:"Show a profile: identifiers, traits with where they came from, computed traits."`
	Timeline profilesTimelineCmd `cmd:"" help:"Show a profile's events on every channel, newest first."`
	Merges   profilesMergesCmd   `cmd:"" help:"Show a profile's merge log and the identifiers it was refused."`
	Unmerge  profilesUnmergeCmd  `cmd:"" help:"Undo a wrong merge: the profile is rebuilt from the log without that link."`
	Export   profilesExportCmd   `cmd:"" help:"Write everything held on a person (an access request, GDPR art. 15) as a zip of JSON files with a manifest."`
	Erase    profilesEraseCmd    `cmd:"" help:"Erase a person (GDPR art. 17): their data removed or anonymised everywhere, the event log included."`
}

// profileRef names a profile by id or by one of its identifiers.
type profileRef struct {
	Profile string `arg:"" help:"A profile id, or an identifier as kind:value (email:sophie@example.fr, phone:0612345678, user_id:42, external:crm:7)."`
}

// open opens the store and finds the profile; the caller closes the store.
func (r *profileRef) open(e *env, g *config.Globals) (store.Store, *profile.Profile, error) {
	st, err := openExisting(e.ctx, g)
	if err != nil {
		return nil, nil, err
	}
	p, err := r.resolve(e, g, st)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, p, nil
}

// resolve finds the profile the reference names.
func (r *profileRef) resolve(e *env, g *config.Globals, st store.Store) (*profile.Profile, error) {
	if id, err := strconv.ParseInt(r.Profile, 10, 64); err == nil {
		return st.Profile(e.ctx, id)
	}
	raw, ok := identity.ParseIdentifier(r.Profile)
	if !ok {
		return nil, fmt.Errorf("%q is neither a profile id nor kind:value", r.Profile)
	}
	rules, err := g.Rules()
	if err != nil {
		return nil, err
	}
	id, why := rules.Normalize(identity.Raw{Kind: raw.Kind, Value: raw.Value})
	if why != "" {
		return nil, fmt.Errorf("%s: %s", r.Profile, why)
	}
	holders, err := st.Holders(e.ctx, []identity.Identifier{id})
	if err != nil {
		return nil, err
	}
	if holders[id] == 0 {
		return nil, fmt.Errorf("no profile holds %s: %w", id, store.ErrNotFound)
	}
	return st.Profile(e.ctx, holders[id])
}

type profilesGetCmd struct {
	profileRef
}

func (c *profilesGetCmd) Run(g *config.Globals, e *env) error {
	st, p, err := c.open(e, g)
	if err != nil {
		return err
	}
	defer st.Close()
	stores, err := physicalStores(e.ctx, g, st)
	if err != nil {
		return err
	}
	rfm, err := st.LoadRFM(e.ctx)
	if err != nil {
		return err
	}
	computed := profile.Computed(p, &profile.Env{Now: time.Now(), Stores: stores, RFM: rfm})
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"id": p.ID, "identifiers": p.Identifiers, "traits": p.Traits, "computed": computed, "merges": p.Merges})
	}
	fmt.Fprintf(e.stdout, "Profile %d", p.ID)
	if p.Merges > 0 {
		fmt.Fprintf(e.stdout, " (%d profiles merged in)", p.Merges)
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintln(e.stdout, "\nIdentifiers")
	ids := slices.Clone(p.Identifiers)
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	for _, id := range ids {
		fmt.Fprintf(e.stdout, "  %-18s %s\n", id.Kind, id.Value)
	}
	fmt.Fprintln(e.stdout, "\nTraits")
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, name := range sortedKeys(p.Traits) {
		t := p.Traits[name]
		fmt.Fprintf(tw, "  %s\t%s\t%s, %s\n", name, t.Value, t.At.Format(time.RFC3339), t.SourceID)
	}
	tw.Flush()
	fmt.Fprintln(e.stdout, "\nComputed")
	for _, d := range profile.Definitions {
		v, _ := json.Marshal(computed[d.Name])
		fmt.Fprintf(e.stdout, "  %-26s %s\n", d.Name, v)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type profilesTimelineCmd struct {
	profileRef
	Limit int    `help:"Events to show." default:"50"`
	Event string `help:"Only this track event name."`
}

func (c *profilesTimelineCmd) Run(g *config.Globals, e *env) error {
	st, p, err := c.open(e, g)
	if err != nil {
		return err
	}
	defer st.Close()
	events, err := st.Timeline(e.ctx, store.TimelineQuery{Profile: p.ID, Limit: c.Limit, Event: c.Event})
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, events)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tCHANNEL\tTYPE\tEVENT\tSEQ")
	for _, ev := range events {
		name := ev.Event
		if name == "" {
			name = ev.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", ev.Timestamp.Format("2006-01-02 15:04:05"), ev.Channel, ev.Type, name, ev.Seq)
	}
	return tw.Flush()
}

type profilesMergesCmd struct {
	profileRef
}

func (c *profilesMergesCmd) Run(g *config.Globals, e *env) error {
	st, p, err := c.open(e, g)
	if err != nil {
		return err
	}
	defer st.Close()
	merges, err := st.MergeLog(e.ctx, p.ID)
	if err != nil {
		return err
	}
	refusals, err := st.Refusals(e.ctx, p.ID, 100)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"profile_id": p.ID, "merges": merges, "refusals": refusals})
	}
	printMerges(e.stdout, p.ID, merges, refusals)
	return nil
}

func printMerges(w io.Writer, id int64, merges []store.MergeRecord, refusals []store.RefusalRecord) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Merges of profile %d (undo one with: parcours profiles unmerge %d --merge ID)\n", id, id)
	fmt.Fprintln(tw, "ID\tAT\tEVENT\tPROFILE\tMERGED\tIDENTIFIERS\tUNDONE")
	for _, m := range merges {
		var ids []string
		for _, x := range m.Identifiers {
			ids = append(ids, x.String())
		}
		undone := "-"
		if !m.UndoneAt.IsZero() {
			undone = m.UndoneAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%s\t%s\n", m.ID, m.At.Format(time.RFC3339), m.EventSeq, m.Profile, m.Merged, strings.Join(ids, " "), undone)
	}
	tw.Flush()
	if len(refusals) > 0 {
		fmt.Fprintln(w, "\nIdentifiers not linked")
		for _, r := range refusals {
			fmt.Fprintf(w, "  event %d: %s (held by %d): %s\n", r.EventSeq, r.Identifier, r.Holder, r.Reason)
		}
	}
}

type profilesUnmergeCmd struct {
	profileRef
	Merge int64 `help:"The merge to undo, from 'parcours profiles merges'." required:""`
}

func (c *profilesUnmergeCmd) Run(g *config.Globals, e *env) error {
	st, p, err := c.open(e, g)
	if err != nil {
		return err
	}
	defer st.Close()
	if s := findServer(g.DataDir); s != nil {
		// serve owns the derived state while it runs: it does the unmerge.
		st.Close()
		return c.throughServer(g, e, s, p.ID)
	}
	release, err := lockDataDir(g.DataDir, c.advice(g, defaultServer, p.ID))
	if err != nil {
		return err
	}
	defer release()
	// The same stages as serve's, from the same configuration: the
	// events moved between profiles, so their segment facts and behaviour
	// index rows are rebuilt too (silently: serve is stopped, and the
	// changes show in the history).
	pl, err := offlinePipeline(e, g, st)
	if err != nil {
		return err
	}
	owners, err := unmergeOffline(e, pl, p.ID, c.Merge)
	if err := errors.Join(err, pl.Close()); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"profiles": owners})
	}
	fmt.Fprintf(e.stdout, "Merge %d undone: the events of profile %d now belong to profiles %v.\n", c.Merge, p.ID, owners)
	return nil
}

// throughServer asks the serve running on the data directory to undo the
// merge.
func (c *profilesUnmergeCmd) throughServer(g *config.Globals, e *env, s *serverInfo, id int64) error {
	api, err := (&remote{Server: s.URL}).client(g)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, c.advice(g, s.URL, id))
	}
	var out struct {
		Profiles []int64 `json:"profiles"`
	}
	path := fmt.Sprintf("/api/v1/profiles/%d/unmerge", id)
	if err := api.call(e.ctx, "POST", path, map[string]any{"merge_id": c.Merge}, &out); err != nil {
		return fmt.Errorf("%w\n%s", err, c.advice(g, s.URL, id))
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "Merge %d undone by parcours serve at %s: the events of profile %d now belong to profiles %v.\n", c.Merge, s.URL, id, out.Profiles)
	return nil
}

// advice is the API call that undoes the merge on a running server.
func (c *profilesUnmergeCmd) advice(g *config.Globals, base string, id int64) string {
	return fmt.Sprintf("undo the merge through it: curl -X POST -H \"Authorization: Bearer $(cat %s)\" %s/api/v1/profiles/%d/unmerge -d '{\"merge_id\":%d}'",
		filepath.Join(absPath(g.DataDir), server.AdminKeyFile), base, id, c.Merge)
}

type replayCmd struct{}

// unmergeOffline loads the segment definitions and undoes the merge.
func unmergeOffline(e *env, pl *pipeline.Pipeline, id, merge int64) ([]int64, error) {
	if err := pl.Segments.Load(e.ctx); err != nil {
		return nil, err
	}
	return pl.Unmerge(e.ctx, id, merge)
}

func (c *replayCmd) Run(g *config.Globals, e *env) error {
	if g.Database == "" && !dataDirExists(g.DataDir) {
		return errors.New(whereIsTheData(g.DataDir))
	}
	release, err := lockDataDir(g.DataDir, "stop it before replaying (it would keep applying events meanwhile)")
	if err != nil {
		return err
	}
	defer release()
	st, err := openStore(e.ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	last, err := st.LastSeq(e.ctx)
	if err != nil {
		return err
	}
	bar := progressbar.NewOptions64(last,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription("replaying"),
		progressbar.OptionSetItsString("events"),
		progressbar.OptionShowIts(),
		progressbar.OptionShowCount(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetVisibility(!g.JSON && interactive(e.stderr)),
	)
	pl, err := offlinePipeline(e, g, st)
	if err != nil {
		return err
	}
	// The events' bar ends when segments start: they count profiles.
	var profiles *progressbar.ProgressBar
	var indexAt time.Time // when the behaviour index started
	start := time.Now()
	err = pl.Replay(e.ctx, func(stage string, done, total int64) {
		switch {
		case stage == "events":
			bar.Set64(done)
		case stage == "index":
			indexAt = time.Now()
		case profiles == nil:
			bar.Finish()
			profiles = newBar(e, g, total, "segments", "profiles")
			fallthrough
		default:
			profiles.Set64(done)
		}
	})
	bar.Finish()
	if profiles != nil {
		profiles.Finish()
	}
	if err := errors.Join(err, pl.Close()); err != nil {
		return err
	}
	// Profiles and segments, then the behaviour index, timed apart: the
	// first is the figure docs/benchmarks.md follows.
	end := time.Now()
	if indexAt.IsZero() {
		indexAt = end
	}
	took, indexTook := indexAt.Sub(start), end.Sub(indexAt)
	n, err := st.ProfileCount(e.ctx)
	if err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"events": last, "profiles": n, "seconds": took.Seconds(), "index_seconds": indexTook.Seconds()})
	}
	fmt.Fprintf(e.stdout, "Replayed %d events into %d profiles in %s (%.0f events/s); behaviour index rebuilt in %s.\n",
		last, n, took.Round(time.Millisecond), float64(last)/took.Seconds(), indexTook.Round(time.Millisecond))
	return nil
}
