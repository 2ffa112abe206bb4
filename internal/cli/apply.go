package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parcours/parcours/internal/config"
	"github.com/parcours/parcours/internal/journey"
	"github.com/parcours/parcours/internal/measure"
	"github.com/parcours/parcours/internal/segment"
	"github.com/parcours/parcours/internal/survey"
)

type applyCmd struct {
	remote
	File   []string `short:"f" required:"" help:"Files or directories of definitions (YAML or JSON; directories are read recursively)." type:"path"`
	DryRun bool     `help:"Validate everything, resolving references within the files applied, and preview each segment's size, without saving."`
	NoWait bool     `help:"Return once saved, without waiting for the backfill."`
}

func (c *applyCmd) Help() string {
	return `Definitions are plain files that can live in version control. Each YAML document has a kind:

  kind: template
  id: cart-reminder-offer
  name: Cart reminder with an offer
  topic: offers
  body:
    email: {subject: "Votre panier vous attend", html: "<p>Bonjour {{ profile.first_name }} ...</p>"}
    sms: {body: "Votre panier vous attend : {{ event.url }}"}

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
    - send: {channel: email, template: cart-reminder-offer, topic: offers}

  kind: funnel            (or kind: report: a saved KPI dashboard, cohort table or attribution)
  id: checkout-funnel
  steps: [{event: Product Viewed}, {event: Product Added}, {event: Order Completed}]
  window: 7d

  kind: recommendation    (a named recommendation templates and the API use: docs/recommend.md)
  name: shoes_for_you
  strategy: personalised
  filters: {available: nearest, categories: [shoes]}
  weights: {similar: 1, viewed: 0.5, popular: 0.05}

  kind: survey            (an NPS or CSAT survey: docs/surveys.md)
  kind: loyalty           (the loyalty programme: earning, tiers, expiry, rewards; docs/loyalty.md)
  id: post-purchase-nps
  type: nps
  template: nps-invitation
  question: {fr: "Recommanderiez-vous Maison Lumière à un proche ?"}

They are applied in dependency order: templates, then surveys, then segments, then journeys, then
saved funnels and reports (docs/measure.md), then recommendations (docs/recommend.md). Before anything is
saved, every reference is resolved against the server and the files applied: a journey naming a
template, topic or segment that exists in neither is refused with its file and field. A changed
definition gets a new version (a segment is backfilled over every profile; customers already in a
journey finish on the version they entered); an unchanged one is left alone. Documents of kind
scenario are skipped. docs/cli.md, docs/messages.md, docs/segments.md and docs/journeys.md
describe them.

  parcours apply -f examples/ --dry-run
  parcours apply -f examples/`
}

func (c *applyCmd) Run(g *config.Globals, e *env) error {
	docs, err := readDocuments(c.File)
	if err != nil {
		return err
	}
	set, err := newDefSet(docs)
	if err != nil {
		return err
	}
	if set.empty() {
		return fmt.Errorf("no definitions found in %s", strings.Join(c.File, ", "))
	}
	api, err := c.client(g)
	if err != nil {
		return err
	}
	srv, err := loadServerDefs(e, api)
	if err != nil {
		return err
	}
	if err := set.check(srv); err != nil {
		return err
	}
	// The server validates each journey (triggers, conditions, segments)
	// as if the segments applied with it existed: a refusal names its file.
	if err := c.validateJourneys(e, api, set); err != nil {
		return err
	}
	if c.DryRun {
		return c.dryRun(e, g, api, set, srv)
	}
	out := applied{Templates: []templateRow{}, Surveys: []surveyRow{}, Segments: []segmentRow{}, Journeys: []journeyRow{}, Reports: []reportRow{}}
	if out.Templates, err = c.applyTemplates(e, api, set, srv); err != nil {
		return err
	}
	if out.Surveys, err = applySurveys(e, api, set); err != nil {
		return err
	}
	if out.Loyalty, err = applyLoyalty(e, api, set); err != nil {
		return err
	}
	if out.Segments, err = c.applySegments(e, g, api, set); err != nil {
		return err
	}
	if out.Journeys, err = c.applyJourneys(e, api, set); err != nil {
		return err
	}
	if out.Reports, err = applyReports(e, api, set); err != nil {
		return err
	}
	if out.Recommendations, err = applyRecommendations(e, api, set); err != nil {
		return err
	}
	if g.JSON {
		return printJSON(e.stdout, out)
	}
	out.print(e.stdout)
	return nil
}

// applied is what an apply saved (or found unchanged).
type applied struct {
	Templates []templateRow `json:"templates"`
	Surveys   []surveyRow   `json:"surveys"`
	Segments  []segmentRow  `json:"segments"`
	Journeys  []journeyRow  `json:"journeys"`
	Reports   []reportRow   `json:"reports"`
	// Recommendations are the kind: recommendation documents saved.
	Recommendations []recommendationRow `json:"recommendations"`
	Loyalty         []loyaltyRow        `json:"loyalty,omitempty"`
}

func (a *applied) print(w io.Writer) {
	sep := ""
	if len(a.Templates) > 0 {
		fmt.Fprintln(w, "Templates")
		printTemplates(w, a.Templates)
		sep = "\n"
	}
	if len(a.Surveys) > 0 {
		fmt.Fprint(w, sep+"Surveys\n")
		printSurveys(w, a.Surveys)
		sep = "\n"
	}
	if len(a.Loyalty) > 0 {
		fmt.Fprint(w, sep+"Loyalty programme\n")
		printLoyalty(w, a.Loyalty)
		sep = "\n"
	}
	if len(a.Segments) > 0 {
		fmt.Fprint(w, sep+"Segments\n")
		printSegments(w, a.Segments)
		sep = "\n"
	}
	if len(a.Journeys) > 0 {
		fmt.Fprint(w, sep+"Journeys\n")
		printJourneys(w, a.Journeys)
		sep = "\n"
	}
	if len(a.Reports) > 0 {
		fmt.Fprint(w, sep+"Saved reports\n")
		printReports(w, a.Reports)
		sep = "\n"
	}
	if len(a.Recommendations) > 0 {
		fmt.Fprint(w, sep+"Recommendations\n")
		printRecommendations(w, a.Recommendations)
	}
}

// applySegments saves the segments and waits for their backfill.
func (c *applyCmd) applySegments(e *env, g *config.Globals, api *apiClient, set *defSet) ([]segmentRow, error) {
	if len(set.segments) == 0 {
		return nil, nil
	}
	var saved struct {
		Segments []segmentRow `json:"segments"`
	}
	if err := api.call(e.ctx, "POST", "/api/v1/segments", map[string]any{"segments": set.segmentDefs()}, &saved); err != nil {
		return nil, set.locate(err)
	}
	if c.NoWait {
		return saved.Segments, nil
	}
	return waitLive(e, g, api, saved.Segments)
}

// applyJourneys saves the journeys, after the segments and templates they
// name.
func (c *applyCmd) applyJourneys(e *env, api *apiClient, set *defSet) ([]journeyRow, error) {
	if len(set.journeys) == 0 {
		return nil, nil
	}
	var saved struct {
		Journeys []journeyRow `json:"journeys"`
	}
	if err := api.call(e.ctx, "POST", "/api/v1/journeys", map[string]any{"journeys": set.journeyDefs()}, &saved); err != nil {
		return nil, set.locate(err)
	}
	return saved.Journeys, nil
}

// validateJourneys has the server validate each journey alone (dry run),
// as if the segments of the apply existed.
func (c *applyCmd) validateJourneys(e *env, api *apiClient, set *defSet) error {
	path := "/api/v1/journeys?dry_run=true"
	if ids := set.segmentIDs(); len(ids) > 0 {
		path += "&with_segments=" + url.QueryEscape(strings.Join(ids, ","))
	}
	if ids := set.surveyIDs(); len(ids) > 0 {
		path += "&with_surveys=" + url.QueryEscape(strings.Join(ids, ","))
	}
	for _, d := range set.journeys {
		if err := api.call(e.ctx, "POST", path, map[string]any{"journeys": []*journey.Definition{d.jour}}, nil); err != nil {
			return fmt.Errorf("%s: %w", d.where, err)
		}
	}
	return nil
}

// dryRun reports what an apply would do, saving nothing.
func (c *applyCmd) dryRun(e *env, g *config.Globals, api *apiClient, set *defSet, srv *serverDefs) error {
	type row struct {
		Kind   string `json:"kind"`
		ID     string `json:"id"`
		Where  string `json:"where"`
		Change string `json:"change"` // new, changed, unchanged
		// Segments: the preview.
		Size     *int64  `json:"size,omitempty"`
		Profiles int64   `json:"profiles,omitempty"`
		Sample   []int64 `json:"sample,omitempty"`
		Via      string  `json:"via,omitempty"`
		TookMs   int64   `json:"took_ms,omitempty"`
	}
	var out []row
	for _, d := range set.templates {
		out = append(out, row{Kind: "template", ID: d.tpl.ID, Where: d.where, Change: srv.templateChange(d.tpl)})
	}
	for _, d := range set.surveys {
		if err := api.call(e.ctx, "POST", "/api/v1/surveys?dry_run=true", map[string]any{"surveys": []*survey.Definition{d.surv}}, nil); err != nil {
			return fmt.Errorf("%s: %w", d.where, err)
		}
		out = append(out, row{Kind: "survey", ID: d.surv.ID, Where: d.where, Change: "valid"})
	}
	for _, d := range set.recommendations {
		out = append(out, row{Kind: "recommendation", ID: d.rec.Name, Where: d.where, Change: "valid"})
	}
	for _, d := range set.loyalty {
		if err := api.call(e.ctx, "POST", "/api/v1/loyalty/programme?dry_run=true", d.loy, nil); err != nil {
			return fmt.Errorf("%s: %w", d.where, err)
		}
		out = append(out, row{Kind: "loyalty", ID: d.loy.ID, Where: d.where, Change: "valid"})
	}
	for _, d := range set.segments {
		var p struct {
			Size     int64   `json:"size"`
			Profiles int64   `json:"profiles_evaluated"`
			Sample   []int64 `json:"sample"`
			Via      string  `json:"via"`
			TookMs   int64   `json:"took_ms"`
		}
		// Members of segments applied with it are previewed with their
		// definitions from the files: the server does not have them yet.
		if err := api.call(e.ctx, "POST", "/api/v1/segments/preview", set.inlineMembers(d.seg), &p); err != nil {
			return fmt.Errorf("%s: %w", d.where, err)
		}
		change := "new"
		if srv.segments[d.seg.ID] {
			change = "saved as a new version if it changed"
		}
		out = append(out, row{Kind: "segment", ID: d.seg.ID, Where: d.where, Change: change, Size: &p.Size, Profiles: p.Profiles,
			Sample: p.Sample, Via: p.Via, TookMs: p.TookMs})
	}
	for _, d := range set.journeys {
		out = append(out, row{Kind: "journey", ID: d.jour.ID, Where: d.where, Change: "valid"})
	}
	for _, d := range set.reports {
		if err := api.call(e.ctx, "POST", "/api/v1/measure/reports?dry_run=true", map[string]any{"reports": []*measure.Definition{d.meas}}, nil); err != nil {
			return fmt.Errorf("%s: %w", d.where, err)
		}
		out = append(out, row{Kind: d.kind, ID: d.meas.ID, Where: d.where, Change: "valid"})
	}
	if g.JSON {
		return printJSON(e.stdout, map[string]any{"dry_run": true, "definitions": out})
	}
	for _, r := range out {
		switch r.Kind {
		case "segment":
			fmt.Fprintf(e.stdout, "segment %s: valid; %d of %d profiles would be in it (sample: %v; %d ms from the %s)\n",
				r.ID, *r.Size, r.Profiles, r.Sample, r.TookMs, viaText(r.Via))
		case "template":
			fmt.Fprintf(e.stdout, "template %s: valid (%s)\n", r.ID, r.Change)
		case "survey":
			fmt.Fprintf(e.stdout, "survey %s: valid; its template resolves\n", r.ID)
		case "loyalty":
			fmt.Fprintf(e.stdout, "loyalty programme %s: valid\n", r.ID)
		case measure.KindFunnel, measure.KindReport:
			fmt.Fprintf(e.stdout, "%s %s: valid\n", r.Kind, r.ID)
		default:
			fmt.Fprintf(e.stdout, "journey %s: valid; its templates, topics and segments resolve\n", r.ID)
		}
	}
	fmt.Fprintln(e.stdout, "Dry run: nothing saved.")
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
