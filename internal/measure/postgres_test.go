package measure_test

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/parcours/parcours/internal/store"
	"github.com/parcours/parcours/internal/store/postgres"
)

// onPostgres makes newHarness use PostgreSQL.
var onPostgres bool

// pgStore opens a migrated store on a schema of its own, dropped when t
// ends.
func pgStore(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	base := os.Getenv("PARCOURS_TEST_POSTGRES_URL")
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	schema := "t_" + strings.ToLower(rand.Text())
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	st, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestMeasureOnPostgres runs the stage and the reports on PostgreSQL: the
// same hand-computed answers, the same live == replay.
func TestMeasureOnPostgres(t *testing.T) {
	if os.Getenv("PARCOURS_TEST_POSTGRES_URL") == "" {
		t.Skip("PARCOURS_TEST_POSTGRES_URL not set")
	}
	onPostgres = true
	defer func() { onPostgres = false }()
	for name, fn := range map[string]func(*testing.T){
		"KPIsHandComputed": TestKPIsHandComputed, "KPIBreakdowns": TestKPIBreakdowns, "LiveEqualsReplay": TestLiveEqualsReplay,
		"ArrivalOrderDoesNotMatter": TestArrivalOrderDoesNotMatter, "BreakdownBySegmentAndJourney": TestKPIBreakdownBySegmentAndJourney,
		"Cohorts": TestCohortsHandComputed, "Attribution": TestAttributionHandComputed, "Experiment": TestExperimentHandComputed,
		"SampleRatioMismatch": TestExperimentSampleRatioMismatch, "SavedReports": TestSavedReports, "Funnel": TestFunnelHandComputed,
	} {
		t.Run(name, fn)
	}
}
