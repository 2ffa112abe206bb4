package loyalty

import (
	"os"
	"strings"
	"testing"
)

func TestParseExampleProgramme(t *testing.T) {
	f, err := os.Open("../../examples/loyalty/club.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, err := ParseYAML("club.yaml", f)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].ID != "club" || len(ps[0].Tiers.Levels) != 3 || len(ps[0].Rewards) != 3 || ps[0].Bonuses[0].EventName() != "Product Reviewed" {
		t.Fatalf("parsed %+v", ps)
	}
}

// TestParseErrorsNameTheLine: each mistake is reported with its file,
// line and field, and says what to write.
func TestParseErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, src string
		want      []string
	}{
		{"unknown field", "kind: loyalty\nid: club\nearn:\n  - points_per_eur: 1\n", []string{"line 4", "points_per_eur"}},
		{"bad rate", "kind: loyalty\nid: club\nearn:\n  - points_per_euro: 1\n  - channel: store\n    points_per_euro: -2\n",
			[]string{"club.yaml:6: earn[1].points_per_euro", "between 0 and 1000"}},
		{"tiers out of order", "kind: loyalty\nid: club\nearn: [{points_per_euro: 1}]\ntiers:\n  levels:\n    - id: silver\n      threshold: 0\n    - id: gold\n      threshold: 0\n",
			[]string{"club.yaml:9: tiers.levels[1].threshold", "above the previous tier"}},
		{"reward of no tier", "kind: loyalty\nid: club\nearn: [{points_per_euro: 1}]\nrewards:\n  - id: up\n    kind: tier_upgrade\n    cost: 10\n    tier: diamond\n",
			[]string{"club.yaml:8: rewards[0].tier", "must name one of the tiers"}},
		{"no earn", "kind: loyalty\nid: club\n", []string{"club.yaml:1: earn", "at least one rule"}},
		{"bonus without event", "kind: loyalty\nid: club\nearn: [{points_per_euro: 1}]\nbonuses:\n  - id: visit\n    on: event\n    points: 5\n",
			[]string{"club.yaml:5: bonuses[0].event", "Store Visited"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseYAML("club.yaml", strings.NewReader(tc.src))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestPointsFirstRuleWinsPerLine(t *testing.T) {
	p := &Programme{ID: "c", Earn: []EarnRule{{Category: "shoes", PointsPerEuro: 3}, {Channel: "store", PointsPerEuro: 2}, {PointsPerEuro: 1}},
		Tiers: Tiers{Levels: []Tier{{ID: "s"}, {ID: "g", Threshold: 10, Benefits: Benefits{Multiplier: 1.5}}}}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	o := Order{ID: "o", Channel: "store", Lines: []Line{{SKU: "B", Category: "Shoes", Price: 19.99, Quantity: 2}, {SKU: "T", Price: 10.5, Quantity: 1}}}
	pts, d := p.Points(o, "s")
	// 39.98 × 3 = 119 (rounded down), 10.50 × 2 = 21.
	if pts != 140 || len(d.Lines) != 2 || d.Lines[0].Points != 119 {
		t.Fatalf("points = %d %+v", pts, d)
	}
	if pts, _ := p.Points(o, "g"); pts != 179+31 {
		t.Fatalf("gold points = %d, want 210", pts)
	}
	o.Channel = "web"
	if pts, _ := p.Points(o, "s"); pts != 119+10 {
		t.Fatalf("web points = %d", pts)
	}
}
