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
		w.Write([]byte(`{"journey_id":"welcome","entered":4,"enrolments":{"completed":4},"exits":{},"sent":{"email":4},
			"steps":[],"variants":[],"converted":2,"conversion_rate":0.5,"ab_results":[
			{"version":1,"step":"steps[5]","variant":"a","entered":2,"converted":2,"conversion_rate":1,"p_value":null},
			{"version":1,"step":"steps[5]","variant":"b","entered":2,"converted":0,"conversion_rate":0,"p_value":0.0455}]}`))
	}))
	defer srv.Close()
	code, out, errOut := run(t, "journey", "stats", "welcome", "--server", srv.URL, "--admin-key", "k")
	if code != 0 || !strings.Contains(out, "converted 2 (50.0%)") || !strings.Contains(out, "0.0455") || !strings.Contains(out, "reference") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}
