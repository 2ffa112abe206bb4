package measure_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parcours/parcours/internal/measure"
)

// TestSavedReports parses the shipped examples, saves them (twice: the
// version stays), and runs each over the funnel fixture's day.
func TestSavedReports(t *testing.T) {
	h := newHarness(t, "UTC")
	funnelFixture(h)
	var defs []*measure.Definition
	for _, f := range []string{"checkout-funnel.yaml", "dashboards.yaml"} {
		path := filepath.Join("..", "..", "examples", "measure", f)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		d, err := measure.ParseDefinitions(path, strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		defs = append(defs, d...)
	}
	svc := measure.NewService(h.st, h.eng, nil, h.zone, h.clk)
	for range 2 {
		saved, err := svc.SaveDefinitions(h.ctx, defs)
		if err != nil {
			t.Fatal(err)
		}
		if len(saved) != 4 || saved[0].Version != 1 {
			t.Fatalf("saved: %+v", saved)
		}
	}
	for id, want := range map[string]string{"checkout-funnel": "*measure.FunnelReport", "weekly-dashboard": "*measure.KPIReport",
		"monthly-cohorts": "*measure.CohortReport", "attribution-by-journey": "*measure.AttributionReport"} {
		out, err := svc.Run(h.ctx, id, "2025-02-03", "2025-02-03")
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if got := strings.TrimPrefix(typeName(out), ""); got != want {
			t.Errorf("%s ran into %s", id, got)
		}
		if f, ok := out.(*measure.FunnelReport); ok && f.Steps[0].Customers != 8 { // every view: no category filter here
			t.Errorf("funnel: %+v", f.Steps)
		}
	}
	// The default range: the last 30 days to today (20 January 2025).
	out, err := svc.Run(h.ctx, "checkout-funnel", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*measure.FunnelReport).Range; r.From != "2024-12-22" || r.To != "2025-01-20" {
		t.Errorf("default range: %+v", r)
	}
	for doc, says := range map[string]string{
		"kind: funnel\nid: f\nsteps: [{event: a}, {event: b}]\nkpis: [revenue]\n":   "report fields",
		"kind: report\nid: r\nreport: kpis\nkpis: [revenu]\n":                       `"revenu" is not a KPI`,
		"kind: report\nid: r\nreport: pies\n":                                       "a report is kpis, cohorts or attribution",
		"kind: report\nid: Bad Id\nreport: kpis\n":                                  "an id is",
		"kind: funnel\nid: f\nsteps: [{event: a}]\n":                                "2 to 12 steps",
		"kind: funnel\nid: f\nstepz: [{event: a}]\n":                                "field stepz not found",
		"kind: report\nid: r\nreport: cohorts\nby: birthday\n":                      "first_order or first_seen",
		"kind: report\nid: r\nreport: attribution\nsteps: [{event: a}, {event: b}]": "belong to kind: funnel",
	} {
		if _, err := measure.ParseDefinitions("f.yaml", strings.NewReader(doc)); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: %v, want %q", doc, err, says)
		}
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *measure.FunnelReport:
		return "*measure.FunnelReport"
	case *measure.KPIReport:
		return "*measure.KPIReport"
	case *measure.CohortReport:
		return "*measure.CohortReport"
	case *measure.AttributionReport:
		return "*measure.AttributionReport"
	}
	return "?"
}
