package sim_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/parcours/parcours/internal/journey/sim"
)

// TestExampleScenarios runs every scenario shipped in examples/journeys:
// the examples are tested journeys.
func TestExampleScenarios(t *testing.T) {
	files, err := filepath.Glob("../../../examples/journeys/scenarios/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			res := runFile(t, f, "")
			if !res.Passed {
				var out bytes.Buffer
				res.Print(&out)
				t.Fatalf("expectations failed:\n%s", out.String())
			}
		})
	}
}

func runFile(t *testing.T, scenarioFile, journeyFile string) *sim.Result {
	t.Helper()
	sc, files := parseFiles(t, scenarioFile, journeyFile)
	res, err := sim.Run(context.Background(), files, sc)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// parseFiles reads a scenario and its journey (the one it names, unless
// a journey file is given).
func parseFiles(t *testing.T, scenarioFile string, journeyFile ...string) (*sim.Scenario, *sim.Files) {
	t.Helper()
	b, err := os.ReadFile(scenarioFile)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := sim.ParseScenario(scenarioFile, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	jf := filepath.Join(filepath.Dir(scenarioFile), sc.Journey)
	if len(journeyFile) > 0 && journeyFile[0] != "" {
		jf = journeyFile[0]
	}
	jb, err := os.ReadFile(jf)
	if err != nil {
		t.Fatal(err)
	}
	files, err := sim.ParseJourneyFile(jf, jb)
	if err != nil {
		t.Fatal(err)
	}
	return sc, files
}
