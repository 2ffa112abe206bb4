package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// parcours journey stats prints the conversions and the A/B results the
// API returns.
func TestJourneyStatsPrintsConversions(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/journeys/welcome/stats" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"journey_id":"welcome","entered":6,"enrolments":{"completed":6},"exits":{},
			"handed":{"email":4},"sent":{"email":1},"messages":{"sent":{"email":1},"deferred":{"email":2},"skipped":{"email":1}},
			"steps":[],"variants":[],"converted":2,"conversion_rate":0.33,"ab_results":[
			{"version":1,"step":"steps[5]","variant":"a","entered":2,"converted":2,"conversion_rate":1,"p_value":null},
			{"version":1,"step":"steps[5]","variant":"b","entered":2,"converted":0,"conversion_rate":0,"p_value":0.0455},
			{"version":1,"step":"steps[5]","variant":"holdout","entered":2,"converted":0,"conversion_rate":0,"p_value":null}]}`))
	}))
	defer srv.Close()
	code, out, errOut := run(t, "journey", "stats", "welcome", "--server", srv.URL, "--admin-key", "k")
	if code != 0 || !strings.Contains(out, "converted 2 (33.0%)") || !strings.Contains(out, "0.0455") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// Messages deferred or skipped are not counted as sent.
	for _, want := range []string{"handed to messages  email  4", "sent                email  1", "deferred            email  2", "skipped             email  1"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	// The first variant is the reference; the holdout without a p-value
	// is not.
	if strings.Count(out, "reference") != 1 || !strings.Contains(out, "holdout  2        0          0.0%    -\n") {
		t.Errorf("A/B rows:\n%s", out)
	}
}
