package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/server"
)

// remote are the flags of commands that talk to a running server.
type remote struct {
	Server   string `help:"URL of the running parcours serve; default: the serve running on the data directory (its server.json), else http://127.0.0.1:8080." env:"PARCOURS_SERVER" placeholder:"URL"`
	AdminKey string `help:"Admin key; default: the admin-key file of the data directory." env:"PARCOURS_ADMIN_KEY"`
}

// client returns an API client for the server: the one named, else the
// one serve recorded in the data directory.
func (r *remote) client(g *config.Globals) (*apiClient, error) {
	base, hint := r.Server, "is parcours serve running there?"
	if base == "" {
		switch s := findServer(g.DataDir); {
		case s != nil:
			base, hint = s.URL, fmt.Sprintf("parcours serve (pid %d) recorded this address in %s", s.PID, filepath.Join(s.DataDir, serverFile))
		case !dataDirExists(g.DataDir) && r.AdminKey == "":
			return nil, errors.New(whereIsTheData(g.DataDir))
		default:
			base = defaultServer
			hint = fmt.Sprintf("no parcours serve runs on the data directory %s (no %s there): start it, or pass --server", absPath(g.DataDir), serverFile)
		}
	}
	key := r.AdminKey
	if key == "" {
		var err error
		if key, err = server.ReadAdminKey(g.DataDir); err != nil {
			return nil, fmt.Errorf("%w; or pass --admin-key", err)
		}
	}
	return &apiClient{base: strings.TrimSuffix(base, "/"), key: key, hint: hint, http: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// defaultServer is where serve listens by default.
const defaultServer = "http://127.0.0.1:8080"

// call sends a request and decodes a 2xx answer into out; any other
// answer becomes an error with the API's message.
func (a *apiClient) call(ctx context.Context, method, path string, body any, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s%s: %w (%s)", method, a.base, path, err, a.hint)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Code, Message string
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
		}
		return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	if w, ok := out.(io.Writer); ok {
		_, err := w.Write(raw)
		return err
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// apiError is an error the API answered: its message, with the status
// and code a command may add advice to.
type apiError struct {
	Status        int
	Code, Message string
}

func (e *apiError) Error() string { return e.Message }

type applyCmd struct {
	remote
	File   []string `short:"f" required:"" help:"Files or directories of definitions (YAML or JSON; directories are read recursively)." type:"path"`
	DryRun bool     `help:"Validate and preview (size of each segment) without saving."`
	NoWait bool     `help:"Return once saved, without waiting for the backfill."`
}

func (c *applyCmd) Help() string {
	return `Definitions are plain files that can live in version control. Each YAML document has a kind:

  kind: segment
  id: lyon-shoe-lovers
  name: Viewed shoes 3 times this week
  where:
    performed: {event: Product Viewed, where: {category: shoes}, within: 7d, count: {gte: 3}}

  kind: journey
  id: abandoned-cart
  name: Abandoned cart
  triggers: [{event: Product Added}]
  exit_on: [{event: Order Completed}]
  steps:
    - wait: {for: 1h}
    - send: {channel: email, template: cart-reminder-offer}

A changed definition gets a new version (a segment is backfilled over every profile; customers
already in a journey finish on the version they entered); an unchanged one is left alone.
Segments are applied before journeys. docs/segments.md and docs/journeys.md describe them.`
}

// document is one definition read from a file, with where it came from.
type document struct {
	where string
	kind  string
	seg   *segment.Definition
	jour  *journey.Definition
}

func (c *applyCmd) Run(g *config.Globals, e *env) error {
	docs, err := readDocuments(c.File)
	if err != nil {
		return err
	}
	if len(docs) == 0 {
		return fmt.Errorf("no definitions found in %s", strings.Join(c.File, ", "))
	}
	api, err := c.client(g)
	if err != nil {
		return err
	}
	var segs []*segment.Definition
	var journeys []*journey.Definition
	var segDocs []document
	for _, d := range docs {
		if d.jour != nil {
			journeys = append(journeys, d.jour)
			continue
		}
		segs = append(segs, d.seg)
		segDocs = append(segDocs, d)
	}
	if c.DryRun {
		if err := c.preview(e, g, api, segDocs); err != nil {
			return err
		}
		return c.applyJourneys(e, g, api, journeys, len(segs) > 0, segs...)
	}
	if len(segs) == 0 {
		return c.applyJourneys(e, g, api, journeys, false)
	}
	var saved struct {
		Segments []segmentRow `json:"segments"`
	}
	path := "/api/v1/segments"
	if err := api.call(e.ctx, "POST", path, map[string]any{"segments": segs}, &saved); err != nil {
		return err
	}
	if !c.NoWait {
		if saved.Segments, err = waitLive(e, g, api, saved.Segments); err != nil {
			return err
		}
	}
	if g.JSON {
		if err := printJSON(e.stdout, saved); err != nil {
			return err
		}
	} else {
		printSegments(e.stdout, saved.Segments)
	}
	// Journeys go after the segments they may name.
	return c.applyJourneys(e, g, api, journeys, true)
}

// applyJourneys saves journeys (validates them with --dry-run, as if the
// segments applied with them existed).
func (c *applyCmd) applyJourneys(e *env, g *config.Globals, api *apiClient, defs []*journey.Definition, after bool, with ...*segment.Definition) error {
	if len(defs) == 0 {
		return nil
	}
	if after && !g.JSON {
		fmt.Fprintln(e.stdout)
	}
	path := "/api/v1/journeys"
	if c.DryRun {
		path += "?dry_run=true"
		var ids []string
		for _, s := range with {
			ids = append(ids, s.ID)
		}
		if len(ids) > 0 {
			path += "&with_segments=" + url.QueryEscape(strings.Join(ids, ","))
		}
	}
	var saved struct {
		Journeys []journeyRow `json:"journeys"`
	}
	if err := api.call(e.ctx, "POST", path, map[string]any{"journeys": defs}, &saved); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, saved)
	}
	if c.DryRun {
		for _, d := range defs {
			fmt.Fprintf(e.stdout, "%s: valid journey (not saved)\n", d.ID)
		}
		return nil
	}
	printJourneys(e.stdout, saved.Journeys)
	return nil
}

func (c *applyCmd) preview(e *env, g *config.Globals, api *apiClient, docs []document) error {
	var out []map[string]any
	for _, d := range docs {
		var p struct {
			Size     int64   `json:"size"`
			Profiles int64   `json:"profiles_evaluated"`
			Sample   []int64 `json:"sample"`
			Via      string  `json:"via"`
			TookMs   int64   `json:"took_ms"`
		}
		if err := api.call(e.ctx, "POST", "/api/v1/segments/preview", d.seg, &p); err != nil {
			return fmt.Errorf("%s: %w", d.where, err)
		}
		out = append(out, map[string]any{"id": d.seg.ID, "size": p.Size, "profiles": p.Profiles, "sample": p.Sample, "via": p.Via, "took_ms": p.TookMs})
		if !g.JSON {
			fmt.Fprintf(e.stdout, "%s: valid; %d of %d profiles would be in it (sample: %v; %d ms from the %s)\n",
				d.seg.ID, p.Size, p.Profiles, p.Sample, p.TookMs, viaText(p.Via))
		}
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	return nil
}

// viaText says in words how a preview was evaluated.
func viaText(via string) string {
	switch via {
	case "index":
		return "behaviour index"
	case "index+profiles":
		return "behaviour index and the profiles"
	case "profiles":
		return "profiles"
	}
	return "profiles and their timelines"
}

// waitLive polls until every segment is live, drawing the backfill.
func waitLive(e *env, g *config.Globals, api *apiClient, rows []segmentRow) ([]segmentRow, error) {
	bar := newBar(e, g, -1, "backfilling", "profiles")
	defer bar.Finish()
	for {
		pending := false
		for i, r := range rows {
			if r.Status != segment.StatusBackfilling {
				continue
			}
			if err := api.call(e.ctx, "GET", "/api/v1/segments/"+r.ID, nil, &rows[i]); err != nil {
				return nil, err
			}
			if rows[i].Status == segment.StatusBackfilling {
				pending = true
				if b := rows[i].Backfill; b != nil && b.Total > 0 {
					bar.ChangeMax64(b.Total)
					bar.Set64(b.Done)
				}
			}
		}
		if !pending {
			return rows, nil
		}
		select {
		case <-e.ctx.Done():
			return nil, e.ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// segmentRow is a segment as the API lists it.
type segmentRow struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Version  int    `json:"version"`
	Status   string `json:"status"`
	Size     int64  `json:"size"`
	Backfill *struct {
		Done  int64 `json:"profiles_done"`
		Total int64 `json:"profiles_total"`
	} `json:"backfill,omitempty"`
}

func printSegments(w io.Writer, rows []segmentRow) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tSTATUS\tSIZE\tNAME")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\n", r.ID, r.Version, r.Status, r.Size, r.Name)
	}
	tw.Flush()
}

// readDocuments reads every definition in paths.
func readDocuments(paths []string) ([]document, error) {
	var files []string
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(path))
			if !d.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json" || path == p) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(files)
	var out []document
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs, err := splitKinds(f, b)
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	return out, nil
}

// splitKinds reads the documents of one file by kind: segments and
// journeys, each parsed strictly (unknown fields are errors).
func splitKinds(name string, b []byte) ([]document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var nodes []*yaml.Node
	var kinds []string
	for {
		var node yaml.Node
		err := dec.Decode(&node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var head struct {
			Kind string `yaml:"kind"`
		}
		if err := node.Decode(&head); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, len(kinds)+1, err)
		}
		if head.Kind == "scenario" {
			continue // a simulator scenario (parcours journey test), kept beside its journey
		}
		if head.Kind != "segment" && head.Kind != "journey" {
			return nil, fmt.Errorf("%s: document %d: kind %q is not one parcours apply knows (kinds: segment, journey; scenario is skipped)", name, len(kinds)+1, head.Kind)
		}
		nodes, kinds = append(nodes, &node), append(kinds, head.Kind)
	}
	if len(kinds) == 0 {
		return nil, nil
	}
	// A file of one kind is parsed whole, so that errors give its lines;
	// a mixed file (or one with scenarios) document by document.
	same := len(kinds) == docsIn(b) && !slices.ContainsFunc(kinds, func(k string) bool { return k != kinds[0] })
	var out []document
	for i := range kinds {
		if same && i > 0 {
			break
		}
		where := fmt.Sprintf("%s: document %d", name, i+1)
		src := b
		if !same {
			raw, err := yaml.Marshal(nodes[i])
			if err != nil {
				return nil, err
			}
			src = raw
		} else {
			where = name
		}
		switch kinds[i] {
		case "segment":
			defs, err := segment.ParseYAML(where, bytes.NewReader(src))
			if err != nil {
				return nil, err
			}
			for j, d := range defs {
				out = append(out, document{where: fmt.Sprintf("%s: document %d", name, i+j+1), kind: "segment", seg: d})
			}
		case "journey":
			defs, err := journey.ParseYAML(where, bytes.NewReader(src))
			if err != nil {
				return nil, err
			}
			for j, d := range defs {
				out = append(out, document{where: fmt.Sprintf("%s: document %d", name, i+j+1), kind: "journey", jour: d})
			}
		}
	}
	return out, nil
}

// docsIn counts the YAML documents of b.
func docsIn(b []byte) int {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	n := 0
	for {
		var v yaml.Node
		if dec.Decode(&v) != nil {
			return n
		}
		n++
	}
}
